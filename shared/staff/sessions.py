"""The staff pages' session store: `cached_db` on redis-cache, so any replica serves any session and a
Redis restart loses none (the database row is the truth; the cache saves reading it).

Django's cached_db survives a failed cache read or save, but not a failed cache refill after a database
read, nor a failed `exists`/`delete`: with redis-cache down every staff page would fail. Here the cache
may fail anywhere, and the database carries on alone.
"""

from __future__ import annotations

import functools
import logging

from django.contrib.sessions.backends import cached_db

from shared import domains

logger = logging.getLogger(__name__)


class CacheThatMayFail:
    """The session cache's calls, each a miss (or nothing) when the cache cannot be reached."""

    def __init__(self, cache):
        self._cache = cache

    def _try(self, name, *args, default=None):
        try:
            return getattr(self._cache, name)(*args)
        except Exception as exc:  # noqa: BLE001 - any cache failure: the database carries on alone
            logger.warning("session cache unavailable (%s)", exc.__class__.__name__)
            return default

    def get(self, key, default=None):
        return self._try("get", key, default=default)

    def set(self, key, value, timeout=None):
        self._try("set", key, value, timeout)

    def delete(self, key):
        self._try("delete", key)

    def __contains__(self, key):
        return self._try("has_key", key, default=False)


def _in_sessions_domain(method):
    """Run a store method for the domain that keeps the sessions (its database and cache keys): the user
    service's own; in the monolith the user domain's, whichever domain's page reads the session."""

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with domains.use(domains.owner_of_app("sessions")):
            return method(self, *args, **kwargs)

    return run


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        self._cache = CacheThatMayFail(self._cache)

    load = _in_sessions_domain(cached_db.SessionStore.load)
    exists = _in_sessions_domain(cached_db.SessionStore.exists)
    create = _in_sessions_domain(cached_db.SessionStore.create)
    save = _in_sessions_domain(cached_db.SessionStore.save)
    delete = _in_sessions_domain(cached_db.SessionStore.delete)
