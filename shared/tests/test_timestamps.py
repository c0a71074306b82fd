"""timestamptz values are parsed by psycopg's C loader, and come back exactly as Django's own loader gives them."""

from datetime import UTC

import psycopg
import pytest
from django.db import connections
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg import pq
from psycopg.types.datetime import TimestamptzLoader

from shared.db.backend.timestamps import FAST_PARSER, TIMESTAMPTZ_OID, FastTzLoader, adapters_template

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

# microseconds or none, other offsets than the session's, old and far dates, a DST change
VALUES = """
SELECT v::timestamptz FROM unnest(ARRAY[
  '2026-12-07 20:00:00.123456+00', '2026-12-07 20:00:00+00', '2026-03-29 01:30:00.5+01',
  '2026-12-07 23:59:59.999999-11:30', '1970-01-01 00:00:00+00', '0099-01-01 00:00:00+00',
  '9999-12-31 23:59:59.999999+00', '2000-02-29 12:00:00.000001+05:45'
]) AS v
"""


def _loaded(connection, *, as_django: bool) -> list:
    with connection.cursor() as cursor:
        if as_django:  # Django's own loader, registered on this cursor alone
            register_tzloader(connection.timezone, cursor.cursor)
        cursor.execute(VALUES)
        return [row[0] for row in cursor.fetchall()]


def test_the_c_parser_is_used():
    assert pq.__impl__ in ("binary", "c")  # what the images install (psycopg[binary])
    assert FAST_PARSER is not TimestamptzLoader
    assert FAST_PARSER.__module__.startswith(("psycopg_binary", "psycopg_c"))


def test_every_connection_and_cursor_loads_timestamptz_with_it():
    for alias in ("db0", "db1"):
        connection = connections[alias]
        with connection.cursor() as cursor:
            loader = cursor.cursor.adapters.get_loader(TIMESTAMPTZ_OID, pq.Format.TEXT)
        assert issubclass(loader, FastTzLoader)
        assert loader.timezone is connection.timezone is UTC  # so Django's cursor check keeps it


def test_values_are_those_of_djangos_loader():
    connection = connections["db0"]
    fast, django = _loaded(connection, as_django=False), _loaded(connection, as_django=True)
    assert fast == django
    assert [value.tzinfo for value in fast] == [UTC] * len(django)
    assert [value.isoformat() for value in fast] == [value.isoformat() for value in django]


def test_without_time_zone_support_values_are_naive():
    loader = adapters_template(False, None).get_loader(TIMESTAMPTZ_OID, pq.Format.TEXT)(TIMESTAMPTZ_OID)
    value = loader.load(b"2026-12-07 20:00:00.25+00")
    assert value.tzinfo is None
    assert value.isoformat() == "2026-12-07T20:00:00.250000"


def test_a_value_out_of_pythons_range_is_a_data_error_as_before():
    with connections["db0"].cursor() as cursor, pytest.raises(psycopg.DataError):
        cursor.cursor.execute("SELECT 'infinity'::timestamptz")
        cursor.cursor.fetchone()
