"""Which domain (user, product, order) the running code works for: one per process, or any of them.

A service is one domain: its settings are that domain's, and everything here answers from them at the
cost of one attribute read. The monolith (`monolith/`) runs every domain in one process. Its settings
name each domain's own values in `DOMAINS`, and each unit of work says which domain it runs for:

- a request by its path (`DomainMiddleware`, the monolith's first middleware);
- a Celery task by the queue it came from (`monolith/config/celery.py`);
- a management command by `DOMAIN` in its environment (`monolith/manage.py`);
- a call from one domain into another by `use()` (the in-process adapters, `monolith/adapters.py`).

What differs between domains is read with `setting()`: the shard servers (`SHARD_TOPOLOGY`, `SHARD_MAP`),
`SHARDED_MODELS` and `QUERY_PLANS`; `current()` is the domain's name, which is also the queue its events
go to, its cache key prefix and the producer named in its events. A domain's database aliases carry its
name in the monolith (`product_db0`); `server_name()` gives back the name the shard map keeps (`db0`),
so a map change made by a service is read by the monolith and the other way round.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

from django.conf import settings

_current: ContextVar[str | None] = ContextVar("domain", default=None)


class NoDomain(RuntimeError):
    """Code of one domain ran in the monolith without saying which: a bug in the entry point."""


def is_monolith() -> bool:
    return settings.DOMAINS is not None


def names() -> list[str]:
    """Every domain this process runs: its own in a service, all of them in the monolith."""
    return list(settings.DOMAINS) if is_monolith() else [settings.SERVICE_NAME]


def current() -> str:
    if settings.DOMAINS is None:
        return settings.SERVICE_NAME
    domain = _current.get()
    if domain is None:
        raise NoDomain("this code runs for one domain: enter it with shared.domains.use(name)")
    return domain


def setting(name: str):
    """The current domain's value of a setting that differs between domains."""
    if settings.DOMAINS is None:
        return getattr(settings, name)
    return settings.DOMAINS[current()][name]


def enter(domain: str) -> Token:
    """Run what follows for `domain` until `leave(token)` (in a service, only its own is known)."""
    if domain not in names():
        raise NoDomain(f"{domain!r} is not a domain of this process ({', '.join(names())})")
    return _current.set(domain)


def leave(token: Token) -> None:
    _current.reset(token)


@contextmanager
def use(domain: str) -> Iterator[None]:
    """Run the block for `domain`."""
    token = enter(domain)
    try:
        yield
    finally:
        leave(token)


def alias_prefix(domain: str) -> str:
    return f"{domain}_" if is_monolith() else ""


def server_name(alias: str) -> str:
    """The shard server's name as the shard map keeps it: the alias without the monolith's domain prefix."""
    prefix = alias_prefix(current())
    return alias[len(prefix) :] if prefix and alias.startswith(prefix) else alias


def alias_of(server: str) -> str:
    """The current domain's alias of a shard server the shard map names (`server_name`'s inverse)."""
    return alias_prefix(current()) + server


def of_module(module: str) -> str:
    """The domain whose code a module is (`orders.events` -> `order`); a service's own in a service."""
    if not is_monolith():
        return settings.SERVICE_NAME
    return owner_of_app(module.split(".", 1)[0])


def owner_of_app(app_label: str) -> str:
    """The domain that keeps an app's tables (`sessions`: the user domain's, as only the user service has them)."""
    if not is_monolith():
        return settings.SERVICE_NAME
    for domain, values in settings.DOMAINS.items():
        if app_label in values["APPS"]:
            return domain
    raise NoDomain(f"{app_label!r} belongs to no domain")


@contextmanager
def of_code(module: str) -> Iterator[None]:
    """Run the block for the domain whose code `module` is: code of one domain called from another's
    request in the monolith (the staff session's account, on an admin page of the product domain)."""
    with use(of_module(module)):
        yield


def owns_app(app_label: str) -> bool:
    """Whether the current domain keeps the tables of `app_label` (every app in a service; in the
    monolith, its own apps and the shared ones, not another domain's)."""
    if not is_monolith():
        return True
    return not any(app_label in values["APPS"] for domain, values in settings.DOMAINS.items() if domain != current())


def cache_key(key: str, key_prefix: str, version: int) -> str:
    """The monolith's cache KEY_FUNCTION: the key a service of the current domain makes (its KEY_PREFIX
    is its name), so the monolith and a service that took over a domain share that domain's entries."""
    return f"{current()}:{version}:{key}"


class DomainMiddleware:
    """Enters the domain whose paths the request is for (`DOMAIN_PATHS`: path prefix -> domain, first
    match); a path of none (health, metrics, schema) runs without a domain."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.routes = list(settings.DOMAIN_PATHS)

    def __call__(self, request):
        for prefix, domain in self.routes:
            if request.path.startswith(prefix):
                with use(domain):
                    return self.get_response(request)
        return self.get_response(request)
