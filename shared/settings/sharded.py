"""Settings of a service that owns sharded data (user, product, order): base + shards and replicas."""

from shared.db.databases import databases_from_env, shard_map_from_env, topology_from_env
from shared.settings.base import *  # noqa: F403
from shared.settings.base import INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [*INSTALLED_APPS, "shared.db", "shared.events"]
# ConditionalGet (ETag, 304) sits outside CacheHeaders so it sees the final Cache-Control
MIDDLEWARE = [
    *MIDDLEWARE[:-1],
    "django.middleware.http.ConditionalGetMiddleware",
    "shared.http.cdn.CacheHeadersMiddleware",
    "shared.db.pinning.PrimaryPinMiddleware",
    MIDDLEWARE[-1],
]

SHARD_TOPOLOGY = topology_from_env()
SHARD_MAP = shard_map_from_env(list(SHARD_TOPOLOGY))
DATABASES = databases_from_env()
