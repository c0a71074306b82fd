"""Connection pooling: the DATABASES setting, every shard server reached through the service's PgBouncer.

Each service has one PgBouncer in front of all its shard servers (`deploy/pgbouncer/`), in
*transaction* pooling: a server connection belongs to a client only for one transaction, so a few
server connections serve every gunicorn worker and Celery process. Django is configured for that:

- persistent connections to PgBouncer (`CONN_MAX_AGE`, with `CONN_HEALTH_CHECKS`): no new TCP and
  auth handshake per request; PgBouncer, not Django, keeps the connections to PostgreSQL;
- no server-side cursors (`DISABLE_SERVER_SIDE_CURSORS`): a named cursor lives across transactions,
  which a transaction pooler cannot keep on one server connection;
- no prepared statements (psycopg `prepare_threshold=None`), for the same reason.

Also here, read from the environment by `shared/settings/sharded.py`: `SHARD_TOPOLOGY` (the shard
servers and their replicas) and `SHARD_MAP` (the configured shard map).
"""

from __future__ import annotations

import json

from shared.db.shardmap import ShardMap, ShardServer
from shared.settings.environ import env, env_int


def topology_from_env() -> dict[str, ShardServer]:
    """`SHARD_TOPOLOGY` is JSON: primary alias -> {replica alias: weight}."""
    raw = json.loads(env("SHARD_TOPOLOGY", '{"db0": {"db0_replica": 1}, "db1": {"db1_replica": 1}}'))
    return {primary: ShardServer(primary, dict(replicas)) for primary, replicas in raw.items()}


def shard_map_from_env(servers: list[str]) -> ShardMap:
    """`SHARD_MAP` (e.g. `"db0:0-7 db1:8-15"`) over `LOGICAL_SHARDS` shards; even ranges when unset."""
    logical = env_int("LOGICAL_SHARDS", 16)
    spec = env("SHARD_MAP", "")
    return ShardMap.parse(spec, logical) if spec else ShardMap.even(servers, logical)


def databases_from_env() -> dict[str, dict]:
    """The DATABASES setting: one alias per shard primary and per replica, all through PgBouncer.

    `default` is the home server's primary again: Django needs a default, and unsharded tables
    (contenttypes, migrations bookkeeping of the home server) live there. It is never migrated on its own.
    """
    topology = topology_from_env()
    common = {
        "ENGINE": "django_prometheus.db.backends.postgresql",
        "HOST": env("DB_HOST", "localhost"),
        "PORT": env("DB_PORT", "6432"),
        "USER": env("DB_USER", "app"),
        "PASSWORD": env("DB_PASSWORD", "app"),
        "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
        "DISABLE_SERVER_SIDE_CURSORS": True,
        "OPTIONS": {"prepare_threshold": None, "connect_timeout": 3},
    }
    databases: dict[str, dict] = {}
    service = env("SERVICE_NAME", "service")
    for server in topology.values():
        databases[server.primary] = {
            **common,
            "NAME": server.primary,
            "TEST": {"NAME": f"test_{service}_{server.primary}", "DEPENDENCIES": []},
        }
        for replica in server.replicas:
            databases[replica] = {**common, "NAME": replica, "TEST": {"MIRROR": server.primary}}
    first = next(iter(topology.values())).primary
    return {"default": {**databases[first], "TEST": {"MIRROR": first}}, **databases}
