"""JSON request bodies with a nesting limit: DRF's DEFAULT_PARSER_CLASSES, and `json_loads` for the gateway.

Python's JSON decoder recurses once per level, so a body nested thousands deep raises RecursionError
(which DRF's parser does not turn into a 400), and one nested hundreds deep reaches every layer that
walks it. Bodies nested deeper than `JSON_MAX_DEPTH` (settings) are malformed here, a 400.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

DEFAULT_MAX_DEPTH = 32


def max_depth() -> int:
    return getattr(settings, "JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH)


def too_deep(value: Any, limit: int) -> bool:
    """Whether `value` (parsed JSON) nests objects and arrays more than `limit` deep; no recursion."""
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def json_loads(data: bytes | str) -> Any:
    """`json.loads` that raises ValueError (never RecursionError) for a document nested too deep."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise ValueError(f"nested more than {max_depth()} deep") from None
    if too_deep(value, max_depth()):
        raise ValueError(f"nested more than {max_depth()} deep")
    return value


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing bodies nested deeper than `JSON_MAX_DEPTH` with a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            value = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested more than {max_depth()} deep") from None
        if too_deep(value, max_depth()):
            raise ParseError(f"JSON parse error - nested more than {max_depth()} deep")
        return value
