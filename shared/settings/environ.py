"""Reading settings from the environment: the one place services turn env vars into typed values."""

import os
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

_MISSING = object()


def env(name: str, default=_MISSING) -> str:
    """Return the variable `name`, or `default`; without a default a missing variable is an error."""
    value = os.environ.get(name)
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
