"""Settings of a service that owns sharded data (user, product, order): base + shards and replicas."""

from shared.db.shards import databases_from_env, shard_map_from_env, topology_from_env
from shared.settings.base import *  # noqa: F403
from shared.settings.base import INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [*INSTALLED_APPS, "shared.db", "shared.events"]
# after RequestID/ServedBy so pinned responses are still tagged
MIDDLEWARE = [*MIDDLEWARE[:-1], "shared.db.pinning.PrimaryPinMiddleware", MIDDLEWARE[-1]]

SHARD_TOPOLOGY = topology_from_env()
SHARD_MAP = shard_map_from_env(list(SHARD_TOPOLOGY))
DATABASES = databases_from_env()
