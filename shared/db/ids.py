"""64-bit IDs that carry their logical shard, in the style of Instagram's sharded IDs.

Layout of the 63 usable bits (the sign bit stays 0 so the value fits a Postgres bigint)::

    | 41 bits: milliseconds since ID_EPOCH_MS | 10 bits: logical shard | 12 bits: sequence |

The ID is made inside PostgreSQL by `next_sharded_id(shard)` (migration 0001 of this app) on the
primary that owns the shard, so the sequence part comes from one Postgres sequence per server: IDs are
unique across every process and container replica without any coordination in Python, and they sort
by creation time.
"""

from django.db import connections

ID_EPOCH_MS = 1767225600000  # 2026-01-01T00:00:00Z
SHARD_BITS = 10
SEQUENCE_BITS = 12
MAX_LOGICAL_SHARDS = 1 << SHARD_BITS


def shard_of(object_id: int) -> int:
    """The logical shard embedded in `object_id`."""
    return (int(object_id) >> SEQUENCE_BITS) & (MAX_LOGICAL_SHARDS - 1)


def timestamp_ms_of(object_id: int) -> int:
    """Unix time in milliseconds at which `object_id` was made."""
    return (int(object_id) >> (SHARD_BITS + SEQUENCE_BITS)) + ID_EPOCH_MS


def compose(*, timestamp_ms: int, shard: int, sequence: int) -> int:
    """Build an ID from its parts (what the SQL function does; used by tests and tools)."""
    return (
        ((timestamp_ms - ID_EPOCH_MS) << (SHARD_BITS + SEQUENCE_BITS))
        | (shard << SEQUENCE_BITS)
        | (sequence % (1 << SEQUENCE_BITS))
    )


def new_ids(*, shard: int, count: int = 1, using: str) -> list[int]:
    """Make `count` new IDs for logical `shard` on the primary `using` in one round trip."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT next_sharded_id(%s) FROM generate_series(1, %s)", [shard, count])
        return [row[0] for row in cursor.fetchall()]


# Installed by migration 0001; kept here beside the Python half of the layout it must agree with.
CREATE_FUNCTION_SQL = f"""
CREATE SEQUENCE IF NOT EXISTS sharded_id_seq;
CREATE OR REPLACE FUNCTION next_sharded_id(shard integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    now_ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000);
    seq bigint := nextval('sharded_id_seq') % {1 << SEQUENCE_BITS};
BEGIN
    IF shard < 0 OR shard >= {MAX_LOGICAL_SHARDS} THEN
        RAISE EXCEPTION 'logical shard % out of range', shard;
    END IF;
    RETURN ((now_ms - {ID_EPOCH_MS}) << {SHARD_BITS + SEQUENCE_BITS}) | (shard::bigint << {SEQUENCE_BITS}) | seq;
END;
$$;
"""
DROP_FUNCTION_SQL = "DROP FUNCTION IF EXISTS next_sharded_id(integer); DROP SEQUENCE IF EXISTS sharded_id_seq;"
