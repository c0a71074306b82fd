"""The database router: migrations on primaries only, sharded models never routed by accident.

Sharded models are always routed explicitly by the code that knows the shard key
(`.using(shards.primary_for_id(...))`, `replicas.read_by_id(...)`, `replicas.run_read(...)`). A query
that reaches this router follows its instance's database (related objects of a row read with
`.using(alias)`, `row.save()`), else:

- a model of a `HOME_APPS` app (Django's own tables, the shard map's changes) goes to the home server;
- any other model is sharded (or, like categories, copied onto every server): `UnroutedQuery`,
  instead of silently reading or writing the home server.
"""

from __future__ import annotations

from shared import domains
from shared.db import shards

# Apps whose tables live on the home server only. Add an app here only if it is not sharded.
HOME_APPS = frozenset({"admin", "auth", "contenttypes", "sessions", "sharding"})


class UnroutedQuery(RuntimeError):
    """A query on a sharded model with no database named: a bug in the code that made it."""

    def __init__(self, model) -> None:
        super().__init__(
            f"{model.__name__}.objects needs .using(alias) (a new row: save(using=alias)): sharded models are "
            "read with replicas.read_by_id()/replicas.run_read_for_id() and written on shards.primary_for_id()"
        )
        self.model = model


def is_sharded(model) -> bool:
    """Whether rows of `model` live on every shard server (everything but `HOME_APPS`)."""
    return model._meta.app_label not in HOME_APPS


class ShardRouter:
    """Follows the instance a query starts from; sends `HOME_APPS` home; refuses any other query."""

    def db_for_read(self, model, **hints):
        instance = hints.get("instance")
        if instance is not None and instance._state.db:
            return instance._state.db
        if is_sharded(model):
            raise UnroutedQuery(model)
        return shards.home_primary()

    def db_for_write(self, model, **hints):
        return self.db_for_read(model, **hints)

    def allow_relation(self, obj1, obj2, **hints):
        # rows relate only within one shard server (its primary or any of its replicas)
        return _server_of(obj1._state.db) == _server_of(obj2._state.db)

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # every primary gets every table of its domain; replicas get them by streaming replication
        return db in shards.topology() and domains.owns_app(app_label)


def _server_of(alias: str | None) -> str | None:
    for primary, server in shards.topology().items():
        if alias == primary or alias in server.replicas:
            return primary
    return shards.home_primary() if alias == "default" else alias
