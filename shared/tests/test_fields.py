import re
from types import ModuleType

import pytest
from rest_framework import serializers

from shared.http import fields

ARABIC_INDIC_12 = "\u0661\u0662"  # "١٢": int() and Decimal() read it as 12
FULLWIDTH_12 = "\uff11\uff12"  # "１２"
SUPERSCRIPT_2 = "\u00b2"  # "²": isdigit() is true, int() fails


class Numbers(serializers.Serializer):
    count = fields.IntegerField(required=False)
    big = fields.IntegerField(required=False, min_value=0, max_value=(1 << 63) - 1)
    price = fields.DecimalField(required=False, max_digits=10, decimal_places=2)


class Text(serializers.Serializer):
    name = fields.CharField(required=False, allow_blank=True)
    email = fields.EmailField(required=False)


@pytest.mark.parametrize("raw", ["12", "-3", "+4", 12, 12.0])
def test_integer_field_takes_ascii_integers(raw):
    data = Numbers(data={"count": raw})
    assert data.is_valid(), data.errors
    assert abs(data.validated_data["count"]) in (3, 4, 12)


@pytest.mark.parametrize(
    "raw",
    [ARABIC_INDIC_12, FULLWIDTH_12, SUPERSCRIPT_2, "1_000", "1e3", "12.5", "0x10", "", " 12 ", "\x0c2", "12.0", "12\n"],
)
def test_integer_field_refuses_what_is_not_written_in_ascii_digits(raw):
    data = Numbers(data={"count": raw})
    assert not data.is_valid()
    assert data.errors["count"] == ["A valid integer is required."]


@pytest.mark.parametrize("raw", [fields.INT32_MAX + 1, fields.INT32_MIN - 1, 10**30, str(10**30)])
def test_integer_field_is_bounded_to_an_integer_column_by_default(raw):
    assert not Numbers(data={"count": raw}).is_valid()


def test_integer_field_takes_the_bounds_it_is_given():
    assert Numbers(data={"big": fields.INT32_MAX + 1}).is_valid()
    assert not Numbers(data={"big": 1 << 63}).is_valid()


@pytest.mark.parametrize("raw", ["19.90", "0.5", "7", "-3.1", "12345678.99"])
def test_decimal_field_takes_ascii_decimals_as_its_pattern_says(raw):
    data = Numbers(data={"price": raw})
    assert data.is_valid(), data.errors
    assert re.search(Numbers().fields["price"].openapi_pattern, raw)


@pytest.mark.parametrize(
    "raw",
    [ARABIC_INDIC_12, f"{ARABIC_INDIC_12}.50", FULLWIDTH_12, "1_000.00", "NaN", "Infinity", "1e400", "12345678901"]
    + [".5", "1e2", " 7", "7.", "+7", "1.234", 19.9, 7, True],
)
def test_decimal_field_refuses_what_its_pattern_does_not_take(raw):
    # numbers too: the API writes decimals as strings, and a JSON number of a price would be a float
    assert not Numbers(data={"price": raw}).is_valid()
    assert not isinstance(raw, str) or not re.search(Numbers().fields["price"].openapi_pattern, raw)


def test_decimal_field_takes_no_sign_where_min_value_forbids_one():
    field = fields.DecimalField(max_digits=10, decimal_places=2, min_value=0)
    assert field.openapi_pattern == r"^[0-9]{1,8}(\.[0-9]{1,2})?$"


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x0b", "\x1b", "\x7f", "\x85", "\x9f"])
def test_text_with_control_characters_is_refused(char):
    data = Text(data={"name": f"a{char}b"})
    assert not data.is_valid()
    assert "name" in data.errors


@pytest.mark.parametrize("text", ["plain", "tab\tand\nnew line\r\n", "ünïcödé ١٢ 漢字 😀", ""])
def test_text_with_tabs_line_breaks_and_any_printable_character_is_taken(text):
    data = Text(data={"name": text})
    assert data.is_valid(), data.errors


def test_an_email_with_a_control_character_in_a_quoted_local_part_is_refused():
    # Django's EmailValidator takes it; PostgreSQL would store it
    assert not Text(data={"email": '"a\x01b"@example.com'}).is_valid()
    assert Text(data={"email": "ann@example.com"}).is_valid()


def test_plain_input_fields_lists_drf_fields_of_input_serializers_only():
    # given
    module = ModuleType("fake_apis")

    class ThingInputSerializer(serializers.Serializer):
        name = serializers.CharField()
        count = fields.IntegerField()
        sku = serializers.RegexField(r"^[A-Z]+$")

    class ThingApi:
        class FilterSerializer(serializers.Serializer):
            page = serializers.IntegerField()

    class ThingOutputSerializer(serializers.Serializer):
        name = serializers.CharField()

    for cls in (ThingInputSerializer, ThingApi, ThingOutputSerializer):
        cls.__module__ = module.__name__
        setattr(module, cls.__name__, cls)
    # when
    found = fields.plain_input_fields(module)
    # then
    assert sorted(name.split("<locals>.")[-1] for name in found) == [
        "ThingApi.FilterSerializer.page",
        "ThingInputSerializer.name",
    ]


@pytest.mark.parametrize("value", [0.5, 12, True, ["a"], {"a": 1}])
def test_text_is_a_string_never_a_number_made_into_one(value):
    for field in (fields.CharField(), fields.EmailField()):
        with pytest.raises(serializers.ValidationError):
            field.run_validation(value)
    assert fields.CharField().run_validation("0.5") == "0.5"


@pytest.mark.parametrize("value", ["\x0bcategory", "\x1d", " \x1c "])
def test_control_characters_that_python_counts_as_white_space_are_refused_not_trimmed(value):
    with pytest.raises(serializers.ValidationError):
        fields.CharField(allow_blank=True).run_validation(value)
