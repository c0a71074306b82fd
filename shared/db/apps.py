from django.apps import AppConfig


class ShardingConfig(AppConfig):
    """Installs the `next_sharded_id()` SQL function on every shard primary (see migrations/)."""

    name = "shared.db"
    label = "sharding"
    verbose_name = "Sharding"
