"""The gateway's unit-test settings: `pytest --ds config.settings.test` (deploy/scripts/unit-tests.sh)."""

from shared.settings import test

from .base import *  # noqa: F403
from .base import CACHES, SIMPLE_JWT

CACHES = test.without_cache_server(CACHES)
SIMPLE_JWT = test.with_test_keys(SIMPLE_JWT)
# the routes as configured: the stack's routes file (its volume, which `compose run` mounts) is not the tests'
GATEWAY_ROUTES_FILE = "/nonexistent/routes.json"
