"""64-bit IDs that carry their logical shard, in the style of Instagram's sharded IDs.

Layout of the 63 usable bits (the sign bit stays 0 so the value fits a Postgres bigint)::

    | 41 bits: milliseconds since ID_EPOCH_MS | 10 bits: logical shard | 12 bits: sequence |

IDs are made inside PostgreSQL by `next_sharded_ids(shard, n)` (migrations of this app) on the
primary that owns the shard. The function advances one counter per server, `ms * 4096 + sequence`,
to at least the current millisecond with a single-row UPDATE: so IDs are unique across every process
and container replica with no coordination in Python, they sort by creation time, and a burst of
more than 4,096 IDs in one millisecond borrows the next milliseconds instead of wrapping around.
Make IDs before opening the transaction that inserts the rows: the counter row stays locked until
the transaction that advanced it ends.

Made that way (in autocommit), the advance commits without waiting for the synchronous standby
(`synchronous_commit = local` for that one statement's transaction). Every ID request on a server
queues on the counter row, so a commit that waited for the standby would hold everyone's IDs for a
standby round trip, and while the standby hangs, for good: each waiting request ran into the role's
statement timeout and failed. Losing an advance in a failover is harmless: a row that uses one of its
IDs commits after it, and a synchronous commit returns only once the standby has all the WAL before
it, the advance included; IDs nobody stored may be made again.
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


NEXT_IDS_SQL = "SELECT next_sharded_ids(%s, %s)"
# in a statement that is its own transaction (autocommit): that transaction commits without waiting for
# the synchronous standby (also `shared.db.inserts`' commit_locally)
COMMIT_LOCALLY = "set_config('synchronous_commit', 'local', true)"
NEXT_IDS_LOCAL_COMMIT_SQL = f"{NEXT_IDS_SQL} FROM {COMMIT_LOCALLY}"


def new_ids(*, shard: int, count: int = 1, using: str) -> list[int]:
    """Make `count` new IDs for logical `shard` on the primary `using` in one round trip."""
    connection = connections[using]
    # inside a transaction, set_config(..., true) would last until that transaction's own COMMIT
    sql = NEXT_IDS_SQL if connection.in_atomic_block else NEXT_IDS_LOCAL_COMMIT_SQL
    with connection.cursor() as cursor:
        cursor.execute(sql, [shard, count])
        return [row[0] for row in cursor.fetchall()]


# Installed by migration 0002; kept here beside the Python half of the layout it must agree with.
CREATE_FUNCTION_SQL = f"""
CREATE TABLE IF NOT EXISTS sharded_id_clock (id integer PRIMARY KEY CHECK (id = 1), last bigint NOT NULL);
INSERT INTO sharded_id_clock VALUES (1, 0) ON CONFLICT DO NOTHING;
CREATE OR REPLACE FUNCTION next_sharded_ids(shard integer, n integer) RETURNS SETOF bigint
LANGUAGE plpgsql AS $$
DECLARE
    now_ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000) - {ID_EPOCH_MS};
    last_value bigint;
BEGIN
    IF shard < 0 OR shard >= {MAX_LOGICAL_SHARDS} THEN
        RAISE EXCEPTION 'logical shard % out of range', shard;
    END IF;
    IF n < 1 THEN
        RAISE EXCEPTION 'asked for % IDs', n;
    END IF;
    UPDATE sharded_id_clock SET last = greatest(last + n, (now_ms << {SEQUENCE_BITS}) + n - 1)
        WHERE id = 1 RETURNING last INTO last_value;
    RETURN QUERY
        SELECT ((v >> {SEQUENCE_BITS}) << {SHARD_BITS + SEQUENCE_BITS}) | (shard::bigint << {SEQUENCE_BITS})
               | (v & {(1 << SEQUENCE_BITS) - 1})
        FROM generate_series(last_value - n + 1, last_value) AS v;
END;
$$;
"""
DROP_FUNCTION_SQL = "DROP FUNCTION IF EXISTS next_sharded_ids(integer, integer); DROP TABLE IF EXISTS sharded_id_clock;"
