"""Reading settings from the environment: the one place services turn env vars into typed values.

A secret may come from a file instead: when `NAME` is unset and `NAME_FILE` names a file, the file's
content (without its trailing newline) is the value. Docker Swarm mounts secrets as files under
/run/secrets/ (deploy/swarm/render.py sets `DB_PASSWORD_FILE=/run/secrets/db_password`, ...), so the
value never appears in the container's environment or in `docker inspect`.
"""

import os
from collections.abc import Mapping
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

_MISSING = object()
FILE_SUFFIX = "_FILE"


def lookup(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of `name` in `environ` (default os.environ), else the content of the file `name_FILE` names."""
    environ = os.environ if environ is None else environ
    value = environ.get(name)
    if value is None and environ.get(name + FILE_SUFFIX):
        with open(environ[name + FILE_SUFFIX], encoding="utf-8") as secret:
            value = secret.read().rstrip("\n")
    return value


def env(name: str, default=_MISSING) -> str:
    """Return the variable `name` (or the file `name_FILE` names), or `default`; without a default a
    missing variable is an error."""
    value = lookup(name)
    if value is None:
        if default is _MISSING:
            raise ImproperlyConfigured(f"Set the environment variable {name}")
        return default
    return value


def env_int(name: str, default: int) -> int:
    return int(env(name, str(default)))


def env_float(name: str, default: float) -> float:
    return float(env(name, str(default)))


def env_bool(name: str, default: bool) -> bool:
    return env(name, "1" if default else "0").strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).replace(",", " ").split() if item.strip()]


def env_url_with_password(name: str, default: str, *, password_from: str, default_password: str) -> str:
    """The URL in `name` with the password in `password_from` added to its user (e.g. a Redis URL
    `redis://app@redis-cache:6379/0` and REDIS_CACHE_PASSWORD): the secret stays a variable of its own
    (a Kubernetes or Swarm secret), the URL stays plain configuration."""
    parts = urlsplit(env(name, default))
    password = quote(env(password_from, default_password), safe="")
    user = unquote(parts.username or "default")
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}:{password}@{host}"))
