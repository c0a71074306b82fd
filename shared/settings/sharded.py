"""Settings of a service that owns sharded data (user, product, order): base + shards and replicas."""

from shared.db.databases import databases_from_env, shard_map_from_env, topology_from_env
from shared.settings.base import *  # noqa: F403
from shared.settings.base import INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [*INSTALLED_APPS, "shared.db", "shared.events"]
# Each service adds only the middleware it uses (every one runs on every request: `python -m
# shared.http.middleware_cost` in a service's container prints what each costs). The product service adds
# ConditionalGet (ETags, 304s) for its public catalog; the user's and order's answers are all `private,
# no-store`, which nobody revalidates, so hashing their bodies for an ETag would be work for nothing.
MIDDLEWARE = [
    *MIDDLEWARE[:-1],
    "shared.http.cdn.CacheHeadersMiddleware",
    "shared.db.pinning.PrimaryPinMiddleware",
    MIDDLEWARE[-1],
]

SHARD_TOPOLOGY = topology_from_env()
SHARD_MAP = shard_map_from_env(list(SHARD_TOPOLOGY))
DATABASES = databases_from_env()
