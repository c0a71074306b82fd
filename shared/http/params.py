"""Parsing of common query and path parameters into clean values or a 400/404 in the error shape."""

from __future__ import annotations

from shared.http.errors import ApplicationError, NotFound

MAX_ID = (1 << 63) - 1


def object_id(raw: str) -> int:
    """An ID from a URL; anything that cannot be one of ours is simply not found."""
    if not raw.isdigit() or int(raw) > MAX_ID:
        raise NotFound("Not found.")
    return int(raw)


def id_list(raw: str, *, field: str = "ids", limit: int = 100) -> list[int]:
    values = [value for value in raw.split(",") if value]
    if len(values) > limit or not all(v.isdigit() and int(v) <= MAX_ID for v in values):
        raise ApplicationError(
            "The request is invalid.", code="validation_error", fields={field: [f"Up to {limit} comma-separated IDs."]}
        )
    return [int(value) for value in values]


def bounded_int(raw: str | None, *, field: str, default: int, low: int, high: int) -> int:
    if raw in (None, ""):
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ApplicationError(
            "The request is invalid.",
            code="validation_error",
            fields={field: [f"A whole number from {low} to {high}."]},
        )
    return int(raw)
