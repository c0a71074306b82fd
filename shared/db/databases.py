"""Connection pooling: the DATABASES setting, every shard server reached through the service's PgBouncer.

Each service has one PgBouncer in front of all its shard servers (`deploy/pgbouncer/`), in
*transaction* pooling: a server connection belongs to a client only for one transaction, so a few
server connections serve every gunicorn worker and Celery process. Django is configured for that:

- persistent connections to PgBouncer (`CONN_MAX_AGE`, with `CONN_HEALTH_CHECKS`, checked at the
  socket without a statement: `shared/db/backend/liveness.py`): no new TCP and auth handshake per
  request or task; PgBouncer, not Django, keeps the connections to PostgreSQL;
- no server-side cursors (`DISABLE_SERVER_SIDE_CURSORS`): a named cursor lives across transactions,
  which a transaction pooler cannot keep on one server connection;
- no prepared statements (psycopg `prepare_threshold=None`), for the same reason.

The application role has a statement timeout (`DB_STATEMENT_TIMEOUT`, set on the role by the shard
servers' entrypoint). Maintenance that may run longer (`migrate_shards`, `move_shard`, `shard_report`)
calls `use_maintenance_pools()` first: each primary's alias then reaches PgBouncer's `<pool>_maint`,
whose server connections have no statement timeout (a session-level SET through a transaction pooler
would leak to other clients; those pools serve maintenance only). PgBouncer's own `query_timeout` still
bounds every single statement.

Also here, read from the environment by `shared/settings/sharded.py`: `SHARD_TOPOLOGY` (the shard
servers and their replicas) and `SHARD_MAP` (the configured shard map).
"""

from __future__ import annotations

import json

from django.db import connections

from shared.db.shardmap import ShardMap, ShardServer
from shared.settings.environ import env, env_int

# DATABASES key of a primary's alias: the name of its PgBouncer pool without a statement timeout
MAINTENANCE_NAME = "MAINTENANCE_NAME"
MAINTENANCE_SUFFIX = "_maint"  # deploy/pgbouncer/entrypoint.sh


def topology_from_env(variable: str = "SHARD_TOPOLOGY") -> dict[str, ShardServer]:
    """`SHARD_TOPOLOGY` is JSON: primary alias -> {replica alias: weight}."""
    raw = json.loads(env(variable, '{"db0": {"db0_replica": 1}, "db1": {"db1_replica": 1}}'))
    return {primary: ShardServer(primary, dict(replicas)) for primary, replicas in raw.items()}


def shard_map_from_env(servers: list[str], variable: str = "SHARD_MAP", prefix: str = "") -> ShardMap:
    """`SHARD_MAP` (e.g. `"db0:0-7 db1:8-15"`) over `LOGICAL_SHARDS` shards; even ranges when unset.
    `prefix` is put before the servers it names (the monolith's aliases: `prefixed()`)."""
    logical = env_int("LOGICAL_SHARDS", 16)
    spec = env(variable, "")
    if not spec:
        return ShardMap.even(servers, logical)
    parsed = ShardMap.parse(spec, logical)
    return ShardMap(logical, {shard: prefix + server for shard, server in parsed.assignments.items()})


def prefixed(topology: dict[str, ShardServer], prefix: str) -> dict[str, ShardServer]:
    """The same servers under aliases that start with `prefix` (the monolith's `product_db0`)."""
    return {
        prefix + primary: ShardServer(prefix + primary, {prefix + r: w for r, w in server.replicas.items()})
        for primary, server in topology.items()
    }


def databases_for(
    topology: dict[str, ShardServer], *, host: str, test_prefix: str, prefix: str = ""
) -> dict[str, dict]:
    """One alias per shard primary and per replica of `topology`, reached through the PgBouncer at `host`,
    whose pools are named after the servers (`db0`); `prefix` goes before each alias, not the pool."""
    common = {
        "ENGINE": "shared.db.backend",  # django-prometheus's, commits confirmed by the standby
        "HOST": host,
        "PORT": env("DB_PORT", "6432"),
        "USER": env("DB_USER", "app"),
        "PASSWORD": env("DB_PASSWORD", "app"),
        "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
        "DISABLE_SERVER_SIDE_CURSORS": True,
        "OPTIONS": {"prepare_threshold": None, "connect_timeout": 3},
    }
    databases: dict[str, dict] = {}
    for server in topology.values():
        databases[prefix + server.primary] = {
            **common,
            "NAME": server.primary,
            MAINTENANCE_NAME: server.primary + MAINTENANCE_SUFFIX,
            "TEST": {"NAME": f"test_{test_prefix}_{server.primary}", "DEPENDENCIES": []},
        }
        for replica in server.replicas:
            databases[prefix + replica] = {**common, "NAME": replica, "TEST": {"MIRROR": prefix + server.primary}}
    return databases


def databases_from_env() -> dict[str, dict]:
    """The DATABASES setting: one alias per shard primary and per replica, all through PgBouncer.

    `default` is the home server's primary again: Django needs a default, and unsharded tables
    (contenttypes, migrations bookkeeping of the home server) live there. It is never migrated on its own.
    """
    databases = databases_for(
        topology_from_env(), host=env("DB_HOST", "localhost"), test_prefix=env("SERVICE_NAME", "service")
    )
    return with_default(databases)


def with_default(databases: dict[str, dict]) -> dict[str, dict]:
    """`databases` with `default`: the first alias (a home server's primary) again."""
    first = next(iter(databases))
    return {"default": {**databases[first], "TEST": {"MIRROR": first}}, **databases}


def use_maintenance_pools() -> list[str]:
    """Send every later query of this process on a primary (and `default`) through its maintenance pool.

    For management commands that may run statements longer than the application role's timeout;
    returns the aliases changed. Aliases without a maintenance pool (replicas, the unit tests' test-db)
    are left as they are. Open connections are closed so that the next query opens one to the new pool.
    """
    changed = []
    for alias, database in connections.settings.items():
        name = database.get(MAINTENANCE_NAME)
        if not name or database["NAME"] == name:
            continue
        connections[alias].close()
        database["NAME"] = name  # the dict every connection object of this alias reads, in every thread
        connections[alias].settings_dict["NAME"] = name
        changed.append(alias)
    return changed
