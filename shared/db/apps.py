from django.apps import AppConfig
from django.db.backends.signals import connection_created


class ShardingConfig(AppConfig):
    """Installs the `next_sharded_id()` SQL function on every shard primary (see migrations/), and times
    every statement of the process (`statements.py`)."""

    name = "shared.db"
    label = "sharding"
    verbose_name = "Sharding"

    def ready(self) -> None:
        from shared.db import statements

        connection_created.connect(statements.install, dispatch_uid="shared.db.statements")
