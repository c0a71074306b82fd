"""Parameters common to every service: IDs in URL paths (a 404 when they cannot be ours), and lists of
IDs and list cursors in query strings (serializer fields for an API's `FilterSerializer`, a 400 when
malformed)."""

from __future__ import annotations

import re

from rest_framework import serializers
from rest_framework.fields import empty

from shared.db.keyset import InvalidCursor, Keyset
from shared.errors import NotFound
from shared.http import fields

MAX_ID = (1 << 63) - 1
ID_DIGITS = len(str(MAX_ID))
# an ID as a regular expression can say it: up to 18 digits, or 19 beginning with 1-8 (all below MAX_ID,
# 9223372036854775807; IDs from 9 x 10^18 on, which the clock of ids.py reaches in about a century,
# are left out so that the documented pattern never allows a number a bigint cannot hold)
ID_PATTERN = "(?:[0-9]{1,18}|[1-8][0-9]{18})"
LARGEST_ID = 8_999_999_999_999_999_999  # the largest ID_PATTERN allows: an ID given as a JSON integer too


class IdConverter:
    """`<id:name>` in a URL pattern: one path segment, given to the view as it is; the view reads it with
    `object_id` (a 404 when it cannot be an ID). Documented as an ID (SPECTACULAR_SETTINGS's
    PATH_CONVERTER_OVERRIDES)."""

    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)


def object_id(raw: str) -> int:
    """An ID from a URL; anything that cannot be one of ours is simply not found."""
    if not is_object_id(raw):
        raise NotFound("Not found.")
    return int(raw)


def is_object_id(raw: str) -> bool:
    # ASCII digits only: str.isdigit() alone is true for "²" and "١", which int() takes or chokes on;
    # and no more of them than MAX_ID has (int() refuses strings of over 4300 digits)
    return raw.isascii() and raw.isdigit() and len(raw) <= ID_DIGITS and int(raw) <= MAX_ID


def query(request) -> dict[str, str]:
    """The query string as the data of a `FilterSerializer`: `?name=` is the value "" (which the field takes
    or refuses as its documented schema says), not a parameter left out as DRF reads a QueryDict.

    Every documented parameter holds one value (lists are comma-separated in one value, as `ids`), so a
    parameter given twice (`?page=1&page=2`) is a 400 naming it, not one of its values picked silently."""
    repeated = {name: ["Give this parameter once."] for name, values in request.query_params.lists() if len(values) > 1}
    if repeated:
        raise serializers.ValidationError(repeated)
    return request.query_params.dict()


class IdListField(fields.CharField):
    """Comma-separated IDs (`?ids=1,2,3`), 1 to `max_ids` of them, as a list of ints.

    Exactly what its documented pattern (`openapi_pattern`, a string in the query string) says: ASCII
    digits, no blanks, no empty items, each an ID a bigint holds (ID_PATTERN); anything else is a 400.
    """

    def __init__(self, *, max_ids: int = 100, **kwargs):
        self.max_ids = max_ids
        self.ids = re.compile(rf"{ID_PATTERN}(,{ID_PATTERN}){{0,{max_ids - 1}}}")
        self.openapi_pattern = f"^{self.ids.pattern}$"
        kwargs.setdefault("help_text", f"Up to {max_ids} comma-separated IDs.")
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> list[int]:
        text = super().to_internal_value(data)
        if not self.ids.fullmatch(text):
            raise serializers.ValidationError(f"Up to {self.max_ids} comma-separated IDs.")
        return [int(value) for value in text.split(",")]


class CursorField(fields.CharField):
    """The `next` cursor of a list's previous page (`?cursor=`), as the position it holds (`keyset.Cursor`).

    Documented in OpenAPI as a string; a cursor that `keyset` did not give out for this list is a 400.
    A blank cursor is no cursor (the first page).
    """

    default_error_messages = {"invalid_cursor": "Not a cursor of this list; start again from the first page."}

    def __init__(self, *, keyset: Keyset, **kwargs):
        self.keyset = keyset
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("max_length", 1000)
        kwargs.setdefault("help_text", "The `next` cursor of the previous page; none for the first page.")
        super().__init__(**kwargs)

    def run_validation(self, data=empty):
        token = super().run_validation(data)  # text of a bounded length, without control characters
        if not token:
            return token
        try:
            return self.keyset.decode(token)
        except InvalidCursor:
            self.fail("invalid_cursor")
