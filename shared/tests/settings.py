"""Settings of the unit tests of shared/: a Django project of the shared apps alone, no service's code.

`pytest --ds shared.tests.settings` (deploy/scripts/unit-tests.sh) runs them in an image that holds shared/.
"""

from shared.settings import test
from shared.settings.sharded import *  # noqa: F403
from shared.settings.sharded import CACHES, DATABASES, SHARD_TOPOLOGY, SIMPLE_JWT

# the tests' events are `order.placed`, which the product service consumes: the project plays it
# (the producer of new events and the queue that dead letters are replayed to are named after it)
SERVICE_NAME = "product"
ROOT_URLCONF = "shared.tests.urls"
WSGI_APPLICATION = None

SHARD_TOPOLOGY = test.without_replicas(SHARD_TOPOLOGY)
DATABASES = test.on_test_db(DATABASES, SHARD_TOPOLOGY)
CACHES = test.without_cache_server(CACHES)
SIMPLE_JWT = test.with_test_keys(SIMPLE_JWT)
# sent events marked at once: no flushing thread whose connection would outlive the test databases
OUTBOX_MARK_SECONDS = 0
