import io

import pytest
from rest_framework.exceptions import ParseError

from shared.http import parsers


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _parse(body: str):
    return parsers.JSONParser().parse(io.BytesIO(body.encode()), "application/json", {})


def test_a_body_within_the_depth_limit_parses(settings):
    settings.JSON_MAX_DEPTH = 4
    assert _parse('{"items": [{"product_id": "1", "quantity": 2}]}') == {"items": [{"product_id": "1", "quantity": 2}]}
    assert _parse(_nested(4)) == [[[[]]]]
    assert _parse('"just a string"') == "just a string"


@pytest.mark.parametrize("depth", [5, 100, 100_000])
def test_a_body_nested_deeper_than_the_limit_is_a_parse_error(settings, depth):
    # given: 100,000 levels is past Python's recursion limit (a RecursionError, a 500, without the parser)
    settings.JSON_MAX_DEPTH = 4
    # when / then
    with pytest.raises(ParseError, match="nested more than 4 deep"):
        _parse(_nested(depth))


def test_objects_count_as_levels_too(settings):
    settings.JSON_MAX_DEPTH = 2
    assert _parse('{"a": {"b": 1}}') == {"a": {"b": 1}}
    with pytest.raises(ParseError):
        _parse('{"a": {"b": [1]}}')


@pytest.mark.parametrize("body", [_nested(100_000), '{"a": ' * 40 + "1" + "}" * 40])
def test_json_loads_for_the_gateway_raises_value_error_when_too_deep(body):
    with pytest.raises(ValueError, match="nested more than"):
        parsers.json_loads(body.encode())


def test_json_loads_for_the_gateway_parses_what_json_loads_does():
    assert parsers.json_loads(b'{"a": [1, 2.5, null, true]}') == {"a": [1, 2.5, None, True]}
    with pytest.raises(ValueError):
        parsers.json_loads(b"{not json")


def test_too_deep_walks_without_recursion():
    value: list = []
    for _ in range(50_000):
        value = [value]
    assert parsers.too_deep(value, 32)
    assert not parsers.too_deep(1, 0)
