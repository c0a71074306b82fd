"""Who leads and who stands by on each shard server, as PostgreSQL itself says.

Under Patroni a shard server's members swap roles (`order-db-0-replica` may lead): what a service knows
is its aliases, `db0` (PgBouncer to the leader's HAProxy port) and `db0_replica` (to a standby's). The
leader names its standbys (`pg_stat_replication.application_name` is the member's name, which Patroni
sets) with their state, synchronous state and replay lag; a standby names the member it streams from
(`pg_stat_wal_receiver.sender_host`). One statement on each alias: `/health/` asks them instead of a
bare `SELECT 1`, and `shard_report` shows them.
"""

from __future__ import annotations

from django.db import connections

STANDBYS_SQL = """SELECT application_name, state, sync_state,
       COALESCE(EXTRACT(EPOCH FROM replay_lag), 0)::float8
  FROM pg_stat_replication ORDER BY application_name"""
LEADER_SQL = "SELECT sender_host FROM pg_stat_wal_receiver WHERE status = 'streaming'"


def rows(alias: str, sql: str) -> list[tuple]:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def describe(standby_rows: list[tuple], leader_rows: list[tuple]) -> dict:
    """{"leader": member or None, "standbys": [{member, state, sync_state, replay_lag_seconds}]} from the
    rows of STANDBYS_SQL on the leader's alias and of LEADER_SQL on the standby aliases (no row: the
    standby streams from nobody, or the alias reaches the leader itself because no standby is up)."""
    return {
        "leader": leader_rows[0][0] if leader_rows else None,
        "standbys": [
            {"member": name, "state": state, "sync_state": sync, "replay_lag_seconds": round(lag, 3)}
            for name, state, sync, lag in standby_rows
        ],
    }


def server_roles(primary: str, replicas: list[str]) -> dict:
    """`describe` of one shard server, asked now; raises what its aliases raise."""
    leader_rows = [row for replica in replicas for row in rows(replica, LEADER_SQL)]
    return describe(rows(primary, STANDBYS_SQL), leader_rows)
