from django.db import models


class ShardAssignment(models.Model):
    """A change to the configured shard map, made by `move_shard`; kept on the home server.

    The home server is the first primary of SHARD_TOPOLOGY. Every process reads these rows every
    SHARD_MAP_REFRESH_SECONDS and lays them over the configured map; `moving` makes the shard
    read-only while its rows are copied.
    """

    shard = models.PositiveSmallIntegerField(primary_key=True)
    server = models.CharField(max_length=64)
    moving = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["shard"]
