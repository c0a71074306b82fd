"""Failed logins, throttled per account: after `LOGIN_FAILURE_LIMIT` failures for one e-mail within
`LOGIN_FAILURE_WINDOW_SECONDS`, logins to it answer 429 with `Retry-After` until the lock expires.

Counted on the normalised e-mail whatever the client's address (nginx limits each address on its own),
and for unknown e-mails exactly as for accounts (no hint which exist). The lock is never extended: it
ends `LOGIN_FAILURE_WINDOW_SECONDS` after it began, so nobody can lock an account out for good.
Counters live in redis-cache (the `default` cache); when it is down, logins are not throttled here.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from django.conf import settings
from django.core.cache import cache

from shared.errors import ApplicationError

logger = logging.getLogger(__name__)


class LoginThrottled(ApplicationError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, retry_after: int):
        super().__init__("Too many failed logins for this account; try again later.")
        self.retry_after = retry_after


def _key(kind: str, email: str) -> str:
    return f"login-{kind}:{hashlib.sha256(email.encode()).hexdigest()}"


def check(email: str) -> None:
    """Raise LoginThrottled while `email` (normalised) is locked."""
    try:
        until = cache.get(_key("locked", email))
    except Exception as exc:  # noqa: BLE001 - fail open: the edge's per-address limit still applies
        logger.warning("login throttle unavailable (%s)", exc.__class__.__name__)
        return
    wait = math.ceil(until - time.time()) if until else 0
    if wait > 0:
        raise LoginThrottled(wait)


def record_failure(email: str) -> None:
    """Count a failed login for `email`; the `LOGIN_FAILURE_LIMIT`th within the window locks it."""
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    failures_key = _key("failures", email)
    try:
        cache.add(failures_key, 0, timeout=window)  # the window starts at the first failure
        if cache.incr(failures_key) >= settings.LOGIN_FAILURE_LIMIT:
            cache.set(_key("locked", email), time.time() + window, timeout=window)
            cache.delete(failures_key)
    except Exception as exc:  # noqa: BLE001 - incl. ValueError: the counter expired between add and incr
        logger.warning("login throttle unavailable (%s)", exc.__class__.__name__)


def record_success(email: str) -> None:
    """The account's owner logged in: earlier failures no longer count (only this account's)."""
    try:
        cache.delete(_key("failures", email))
    except Exception as exc:  # noqa: BLE001
        logger.warning("login throttle unavailable (%s)", exc.__class__.__name__)
