"""The database router: migrations on primaries only, and unsharded models on the home shard.

Sharded models are always routed explicitly by the code that knows the shard key
(`.using(shards.primary_for_id(...))`, `replicas.run_read(...)`); what reaches this router without a
`using` is either unsharded (contenttypes, Celery bookkeeping) or follows its instance's database.
"""

from shared.db import shards


class ShardRouter:
    def db_for_read(self, model, **hints):
        instance = hints.get("instance")
        if instance is not None and instance._state.db:
            return instance._state.db
        return shards.primaries()[0]

    def db_for_write(self, model, **hints):
        return self.db_for_read(model, **hints)

    def allow_relation(self, obj1, obj2, **hints):
        # rows relate only within one shard server (its primary or any of its replicas)
        return _server_of(obj1._state.db) == _server_of(obj2._state.db)

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # every primary gets every table; replicas get them by streaming replication
        return db in shards.topology()


def _server_of(alias: str | None) -> str | None:
    for primary, server in shards.topology().items():
        if alias == primary or alias in server.replicas:
            return primary
    return shards.primaries()[0] if alias == "default" else alias
