"""What unit-test settings change: each service's config/settings/test.py and shared/tests/settings.py use these.

Unit tests run in a service's image with the environment of its compose service, which points at the
running stack, and the base settings have read that environment by the time a test settings module
runs. These helpers turn the settings read from it to the throw-away `test-db` server (two shard
servers, no replicas), to a cache server that is not there (the cache layers must cope without one)
and to a JWT key pair made for the run.

Importing this module sets ALLOW_INSECURE_DEFAULTS=1: every test settings module imports it before the
base settings, which would otherwise refuse the well-known secrets of a bare environment.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

from shared.auth.keys import PRIVATE_NAME, PUBLIC_NAME, ensure_key_pair, read_key
from shared.db.databases import MAINTENANCE_NAME
from shared.settings.environ import env

# unit tests run with test-only secrets (test-db's password, a key pair made for the run)
os.environ["ALLOW_INSECURE_DEFAULTS"] = "1"

TEST_DB_HOST = "test-db"
UNREACHABLE_CACHE_URL = "redis://127.0.0.1:1/0"


def without_replicas(topology: dict) -> dict:
    """SHARD_TOPOLOGY with its shard servers but no replicas: test-db has none (shared/tests fake them)."""
    return {primary: dataclasses.replace(server, replicas={}) for primary, server in topology.items()}


def on_test_db(databases: dict, topology: dict) -> dict:
    """DATABASES for `topology`: `default` and each primary, on test-db as postgres, no persistent connections.

    The password is test-db's own (`POSTGRES_PASSWORD`); the test database names stay the base ones.
    test-db is no PgBouncer: there are no maintenance pools (and postgres has no statement timeout).
    """
    server = {
        "HOST": TEST_DB_HOST,
        "PORT": "5432",
        "USER": "postgres",
        "PASSWORD": env("POSTGRES_PASSWORD", "postgres"),
        "CONN_MAX_AGE": 0,
    }
    return {
        alias: {**{key: value for key, value in db.items() if key != MAINTENANCE_NAME}, **server}
        for alias, db in databases.items()
        if alias == "default" or alias in topology
    }


def without_cache_server(caches: dict) -> dict:
    """CACHES pointed at an address where no Redis answers."""
    return {alias: {**cache, "LOCATION": UNREACHABLE_CACHE_URL} for alias, cache in caches.items()}


def with_test_keys(simple_jwt: dict) -> dict:
    """SIMPLE_JWT with both halves of a key pair made for the run (tests sign tokens too)."""
    directory = Path(tempfile.gettempdir()) / "jwt-test-keys"
    ensure_key_pair(directory, directory)
    return {
        **simple_jwt,
        "SIGNING_KEY": read_key(str(directory / PRIVATE_NAME)),
        "VERIFYING_KEY": read_key(str(directory / PUBLIC_NAME)),
    }
