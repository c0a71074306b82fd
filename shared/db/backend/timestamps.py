"""timestamptz values parsed by psycopg's C loader instead of its pure-Python one.

Django's loader for timestamptz (`BaseTzLoader` in django/db/backends/postgresql/psycopg_any.py)
subclasses psycopg's pure-Python `TimestamptzLoader`, so the C parser that psycopg-binary ships is
never used for one: each value costs about 7 us of regular expressions and int() calls. A catalog page
that misses the caches loads two timestamps per row from each shard server; py-spy put 9% of the
product service's CPU in that loader (`_load_iso`).

psycopg's C loader cannot stand in for Django's as it is: its type is final (no subclass can add to
it), and Django compares the connection's loader's `timezone` attribute with its own on every cursor
(`DatabaseWrapper.create_cursor`), which the C type does not have. So the loader here is Django's, with
the same `timezone` and the same values (in that timezone, or naive when it is None), and it hands the
parsing to the C loader: about 0.7 us a value. Without psycopg's C module (a pure-Python install),
`psycopg.adapters` gives back the Python loader and this changes nothing but the wrapping.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import lru_cache

import psycopg
from django.db.backends.postgresql.psycopg_any import BaseTzLoader, get_adapters_template
from psycopg import adapt, pq
from psycopg.postgres import types

TIMESTAMPTZ_OID = types["timestamptz"].oid
# the global map's loader: psycopg_binary's (or psycopg_c's) C class when one is installed
FAST_PARSER = psycopg.adapters.get_loader(TIMESTAMPTZ_OID, pq.Format.TEXT)


class FastTzLoader(BaseTzLoader):
    """Django's timestamptz loader, parsing in C. `timezone` is set per subclass, as Django does."""

    def __init__(self, oid: int, context: adapt.AdaptContext | None = None):
        super().__init__(oid, context)
        self._parse = FAST_PARSER(oid, context).load

    def load(self, data) -> datetime:
        value = self._parse(data)  # in the session's timezone, which Django sets to `timezone`
        return value if value.tzinfo is self.timezone else value.replace(tzinfo=self.timezone)


@lru_cache
def adapters_template(use_tz: bool, timezone: tzinfo | None) -> adapt.AdaptersMap:
    """Django's adapters for a connection (`get_adapters_template`), with FastTzLoader for timestamptz."""
    context = adapt.AdaptersMap(get_adapters_template(use_tz, timezone))
    loader = type("SpecificFastTzLoader", (FastTzLoader,), {"timezone": timezone})
    context.register_loader("timestamptz", loader)
    return context
