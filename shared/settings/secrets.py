"""Refusing to run with a well-known secret: every Django process checks its secrets when its settings load.

`make up` (`make env`, deploy/scripts/make_env.py) writes random secrets into `.env` at the first run;
a secret that is unset or still one of the defaults the code and compose fall back on is an error, so
a stack started without them fails at once and says why. `ALLOW_INSECURE_DEFAULTS=1` (a development
flag; the unit tests set it) lets the defaults through.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

from shared.settings.environ import lookup

# variable -> the well-known value the code and the compose files fall back on
WELL_KNOWN_DEFAULTS: dict[str, str] = {
    "DJANGO_SECRET_KEY": "dev-only-not-secret-change-me",
    "DB_PASSWORD": "app",
    "ADMIN_PASSWORD": "admin-Passw0rd!",
    "POSTGRES_PASSWORD": "postgres",
    "REPLICATION_PASSWORD": "replicator",
    "REDIS_CACHE_PASSWORD": "redis-cache",
    "REDIS_BROKER_PASSWORD": "redis-broker",
}
# the ones a Django process uses itself: unset, they take their well-known default
USED_BY_DJANGO = ("DJANGO_SECRET_KEY", "DB_PASSWORD", "ADMIN_PASSWORD", "REDIS_CACHE_PASSWORD", "REDIS_BROKER_PASSWORD")
FLAG = "ALLOW_INSECURE_DEFAULTS"


def insecure_secrets(environ: Mapping[str, str]) -> list[str]:
    """The secrets in `environ` (or in the files their `*_FILE` variables name) that are a well-known default
    (or unset, for those Django falls back on)."""
    found = []
    for name, default in WELL_KNOWN_DEFAULTS.items():
        value = lookup(name, environ) or (default if name in USED_BY_DJANGO else "")
        if value == default:
            found.append(name)
    return found


def refuse_insecure_defaults(environ: Mapping[str, str] | None = None, *, allow: bool = False) -> None:
    """Raise ImproperlyConfigured naming every well-known secret, unless `allow` (ALLOW_INSECURE_DEFAULTS=1)."""
    found = insecure_secrets(os.environ if environ is None else environ)
    if found and not allow:
        raise ImproperlyConfigured(
            f"Refusing to start with well-known secrets: {', '.join(found)} "
            f"{'is' if len(found) == 1 else 'are'} unset or the published default. "
            "Run `make env` (it writes random secrets into .env and never overwrites one), or set "
            f"{FLAG}=1 to run with the defaults on a development machine."
        )
