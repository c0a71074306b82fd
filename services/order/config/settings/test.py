"""The order service's unit-test settings: `pytest --ds config.settings.test` (deploy/scripts/unit-tests.sh)."""

from shared.settings import test

from .base import *  # noqa: F403
from .base import CACHES, DATABASES, SHARD_TOPOLOGY, SIMPLE_JWT

SHARD_TOPOLOGY = test.without_replicas(SHARD_TOPOLOGY)
DATABASES = test.on_test_db(DATABASES, SHARD_TOPOLOGY)
CACHES = test.without_cache_server(CACHES)
SIMPLE_JWT = test.with_test_keys(SIMPLE_JWT)
# sent events marked at once: no flushing thread whose connection would outlive the test databases
OUTBOX_MARK_SECONDS = 0
