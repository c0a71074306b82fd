"""The serializer fields of every input serializer (bodies and query strings) of the platform.

They are DRF's fields with the platform's input rules, so that hostile input is a 400 with field
errors at the edge of a service, never a database error (a 500) further in:

- numbers are written with ASCII digits only (`int()` and `Decimal()` take e.g. Arabic-Indic digits),
  an integer given as text with nothing around it;
  decimals are strings in the one syntax their OpenAPI `pattern` states (as the API writes them);
- integers are bounded, by default to a PostgreSQL `integer` column; give `min_value`/`max_value`
  matching the column (e.g. `MAX_ID` for a `bigint` ID) for anything else;
- text is a JSON string (never a number made into one) and holds no control characters (C0 and C1,
  DEL) other than tab, line feed and carriage return:
  PostgreSQL refuses NUL in text, and the others have no business in names, searches or tokens.

Use `fields.CharField` etc. where you would use `serializers.CharField` in an input serializer
(output serializers keep DRF's). `plain_input_fields` lists the fields that do not, for a test.
"""

from __future__ import annotations

import inspect
import re
from types import ModuleType

from django.core.validators import RegexValidator
from rest_framework import serializers

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1

# an integer given as text (a query parameter, or a JSON string) is written as the schema's `integer`
# says: a sign and ASCII digits, nothing around them (DRF would also take " 12 ", "\x0c12" or "12.0")
_ASCII_INTEGER = re.compile(r"[-+]?[0-9]+")
# C0 controls except \t \n \r, DEL and C1 controls (Unicode category Cc); DRF refuses NUL and surrogates too
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

no_control_characters = RegexValidator(
    CONTROL_CHARACTERS, message="Control characters are not allowed.", code="control_characters", inverse_match=True
)


class _Text:
    """Text is a string: DRF would also take a JSON number (`"password": 0.5` becomes "0.5"), which the
    schema (`type: string`) does not allow."""

    def run_validation(self, data=serializers.empty):
        # control characters are refused as sent: DRF trims white space first, and Python's white space
        # includes some of them (\x0b, \x0c, \x1c-\x1f), which would slip through as "blank"
        if isinstance(data, str) and CONTROL_CHARACTERS.search(data):
            raise serializers.ValidationError(no_control_characters.message, code=no_control_characters.code)
        return super().run_validation(data)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class CharField(_Text, serializers.CharField):
    """Text without control characters."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(no_control_characters)


class EmailField(_Text, serializers.EmailField):
    """An e-mail address without control characters (Django's validator allows them in a quoted local part)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(no_control_characters)


class IntegerField(serializers.IntegerField):
    """An integer written with ASCII digits, within an `integer` column unless bounds are given."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", INT32_MIN)
        kwargs.setdefault("max_value", INT32_MAX)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and not _ASCII_INTEGER.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class DecimalField(serializers.DecimalField):
    """A decimal written as the API writes it: a string of ASCII digits with at most `decimal_places`
    after the point, a sign only where `min_value` allows one. `openapi_pattern` documents exactly that.
    `max_digits`/`decimal_places` must match the column."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        sign = "-?" if self.min_value is None or self.min_value < 0 else ""
        whole = self.max_digits - self.decimal_places
        self.syntax = re.compile(rf"{sign}[0-9]{{1,{whole}}}(\.[0-9]{{1,{self.decimal_places}}})?")
        self.openapi_pattern = f"^{self.syntax.pattern}$"

    def to_internal_value(self, data):
        if not isinstance(data, str) or not self.syntax.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)


# DRF's fields that take free text or numbers, and so need the platform's rules on input
_RULED = (serializers.CharField, serializers.IntegerField, serializers.DecimalField, serializers.FloatField)
# the platform's, and DRF's whose own format already keeps out non-ASCII digits and control characters
_SAFE = (CharField, EmailField, IntegerField, DecimalField, serializers.RegexField, serializers.SlugField)


def plain_input_fields(module: ModuleType) -> list[str]:
    """`Serializer.field` for every text or number field of an input serializer in `module` that is DRF's own.

    Input serializers are the classes named `*InputSerializer`, `*UpdateSerializer` or `FilterSerializer`,
    at module level or nested in a view. A service's tests assert that this list is empty.
    """
    found = []
    for serializer in _input_serializers(module):
        for name, field in serializer().fields.items():
            if isinstance(field, _RULED) and not isinstance(field, _SAFE):
                found.append(f"{serializer.__qualname__}.{name}")
    return found


def _input_serializers(module: ModuleType) -> list[type[serializers.Serializer]]:
    classes = [c for _, c in inspect.getmembers(module, inspect.isclass) if c.__module__ == module.__name__]
    nested = [c for owner in classes for _, c in inspect.getmembers(owner, inspect.isclass)]
    return [
        c
        for c in {*classes, *nested}
        if issubclass(c, serializers.Serializer)
        and c.__name__.endswith(("InputSerializer", "UpdateSerializer", "FilterSerializer"))
    ]
