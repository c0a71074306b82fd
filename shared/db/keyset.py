"""Keyset ("cursor") pagination: the page after row two million costs what the first page costs.

A page is asked for *after a position* in a total order, never at an offset. A server seeks to the
position with one row-value comparison, which a B-tree index on the ordering's columns answers by
descending to the position and reading on::

    WHERE (price, id) > (%s, %s) ORDER BY price, id LIMIT page_size + 1

(`<` and `DESC` for a descending ordering). It returns at most one page and one row more, which only
tells that more follow. `keyset_page` does this on one server; `shared.db.scatter.scatter_keyset` on
every shard server, merging their pages. The client holds the position as an opaque cursor: the
name of the ordering and the sort values of the last row it was sent, signed with the SECRET_KEY
(`Keyset.cursor`), so that a cursor this code did not make is refused (`Keyset.decode`).

Rows inserted or deleted between two page requests never make a later page repeat or skip a row that
was there all along: each page starts strictly after the last row sent, wherever that now is. (A row
whose sort values change between two requests may be sent twice or not at all, as with any cursor.)

An ordering is a tuple of model field names, all ascending or all descending, ending in the primary
key so that it is a total order, e.g. `("-price", "-id")`. Its fields must be NOT NULL. Give every
ordering an index on those columns in that order, behind the columns of any equality filter the
list offers (`(category, price, id)` serves `category = %s ORDER BY price, id`); a B-tree is read
backwards for the descending twin.

Text sort values are compared in Python when the pages of several servers are merged, by code
point: that is PostgreSQL's "C" collation, which the shard servers use (`initdb` without a locale).
On a database with another collation, order text by a `COLLATE "C"` expression instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import F, Field, Func, Model, QuerySet, Value
from django.db.models.lookups import GreaterThan, LessThan


class InvalidCursor(ValueError):
    """A cursor that this list did not give out (tampered with, made for another list, or garbage)."""


@dataclass(frozen=True)
class Cursor:
    """A position in one of a list's orderings: the ordering's name and the sort values of a row."""

    ordering: str
    after: tuple


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, and whether any row follows them."""

    items: list
    page_size: int
    has_next: bool
    # the page number, for a page asked for by number (`scatter.scatter_gather`); None for a keyset page
    page: int | None = None


def directions(order: Sequence[str]) -> tuple[list[str], bool]:
    """The field names of `order` and whether it is descending (ValueError if it mixes directions)."""
    descending = {field.startswith("-") for field in order}
    if len(descending) != 1:
        raise ValueError(f"a keyset ordering needs one direction for every field, not {order!r}")
    return [field.lstrip("-") for field in order], descending.pop()


def position(row: Any, order: Sequence[str]) -> tuple:
    """The sort values of `row` in `order` (what the next page is asked to start after)."""
    return tuple(getattr(row, name) for name in directions(order)[0])


class Row(Func):
    """A row constructor, `ROW(a, b)`: compared with another, PostgreSQL compares them column by column."""

    function = "ROW"
    output_field = Field()


def seek(queryset: QuerySet, order: Sequence[str], after: Sequence | None) -> QuerySet:
    """`queryset` in `order`, starting strictly after the position `after` (from the start if None)."""
    names, descending = directions(order)
    queryset = queryset.order_by(*order)
    if after is None:
        return queryset
    if len(after) != len(names):
        raise ValueError(f"a position in {order!r} has {len(names)} values, not {len(after)}")
    if len(names) == 1:
        return queryset.filter(**{f"{names[0]}__{'lt' if descending else 'gt'}": after[0]})
    meta = queryset.model._meta
    columns = Row(*(F(name) for name in names))
    values = Row(*(Value(value, output_field=meta.get_field(name)) for name, value in zip(names, after, strict=True)))
    return queryset.filter(LessThan(columns, values) if descending else GreaterThan(columns, values))


def keyset_page(queryset: QuerySet, *, order: Sequence[str], after: Sequence | None, page_size: int) -> Page:
    """The page of `queryset` after `after` in `order`, read on the one database `queryset` uses."""
    rows = list(seek(queryset, order, after)[: page_size + 1])
    return Page(items=rows[:page_size], page_size=page_size, has_next=len(rows) > page_size)


@dataclass(frozen=True)
class Keyset:
    """The orderings a list offers, and the signed cursors that walk it.

    `name` keeps cursors of different lists apart (a cursor of one is refused by the other);
    `orderings` maps each public ordering name to its fields (see the module's docstring).
    """

    name: str
    model: type[Model]
    orderings: Mapping[str, tuple[str, ...]]

    def __post_init__(self) -> None:
        for order in self.orderings.values():
            names, _ = directions(order)
            if names[-1] != self.model._meta.pk.name:
                raise ValueError(f"ordering {order!r} must end with the primary key to be a total order")

    @property
    def _salt(self) -> str:
        return f"shared.db.keyset:{self.name}"

    def cursor(self, ordering: str, row: Any) -> str:
        """The opaque cursor of the position of `row` in `ordering`: the next page starts after it."""
        values = [_plain(value) for value in position(row, self.orderings[ordering])]
        return signing.dumps({"o": ordering, "k": values}, salt=self._salt)

    def decode(self, token: str) -> Cursor:
        """The position a cursor of this list holds; InvalidCursor for anything it did not give out."""
        try:
            payload = signing.loads(token, salt=self._salt)
        except (signing.BadSignature, ValueError, TypeError):
            raise InvalidCursor(token) from None
        if not isinstance(payload, dict) or payload.keys() != {"o", "k"} or payload["o"] not in self.orderings:
            raise InvalidCursor(token)
        names, _ = directions(self.orderings[payload["o"]])
        raw = payload["k"]
        if not isinstance(raw, list) or len(raw) != len(names):
            raise InvalidCursor(token)
        after = []
        for name, value in zip(names, raw, strict=True):
            try:
                value = self.model._meta.get_field(name).to_python(value)
            except ValidationError:
                raise InvalidCursor(token) from None
            if value is None:
                raise InvalidCursor(token)
            after.append(value)
        return Cursor(ordering=payload["o"], after=tuple(after))


def _plain(value: Any) -> Any:
    """A sort value as JSON holds it exactly (the model field's `to_python` reads it back)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value
