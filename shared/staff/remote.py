"""Who a staff session's cookie belongs to, asked of the user service (the product and order admins).

The user service holds the accounts and the staff sessions; `GET /internal/staff-session/` there answers
who the session forwarded in the Cookie header belongs to (200, or 401 for no staff session), and
`DELETE` ends it. The answer is kept in redis-cache for `STAFF_SESSION_RECHECK_SECONDS` under a hash of
the cookie (never the session key itself), so an admin page costs no call in the common case, and
signing out, a deactivated account or lost staff rights end every admin within that many seconds.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache

from django.conf import settings
from django.core.cache import cache as l2

from shared.clients import ServiceClient
from shared.errors import UpstreamUnavailable
from shared.staff.principal import StaffUser
from shared.staff.sessions import CacheThatMayFail

# the cache is a shortcut: when redis-cache fails, the user service is asked every time
_answers = CacheThatMayFail(l2)

STAFF_SESSION_PATH = "/internal/staff-session/"
# what Django's session keys look like; anything else is no session, and is never sent on
SESSION_KEY = re.compile(r"[a-z0-9]{8,64}")


@cache
def _user_service() -> ServiceClient:
    return ServiceClient("user")


def _session_cookie(request) -> str | None:
    value = request.COOKIES.get(settings.STAFF_SESSION_COOKIE, "")
    return value if SESSION_KEY.fullmatch(value) else None


def _cache_key(cookie: str) -> str:
    return "staff-session:" + hashlib.sha256(cookie.encode()).hexdigest()


def _remember(key: str, value: dict | None) -> None:
    if value is None:
        _answers.delete(key)
    else:
        _answers.set(key, value, settings.STAFF_SESSION_RECHECK_SECONDS)


def _ask(method: str, cookie: str):
    return _user_service().request(
        method, STAFF_SESSION_PATH, headers={"Cookie": f"{settings.STAFF_SESSION_COOKIE}={cookie}"}
    )


def staff_for(request) -> StaffUser | None:
    """The staff member signed in with this request's session cookie, or None."""
    cookie = _session_cookie(request)
    if cookie is None:
        return None
    key = _cache_key(cookie)
    known = _answers.get(key)
    if known is None:
        response = _ask("GET", cookie)
        if response.status_code == 200:
            body = response.json()
            known = {"id": int(body["id"]), "email": str(body["email"]), "name": str(body.get("name", ""))}
        elif response.status_code in (401, 403):
            known = {}  # no staff session: remembered too, so a stale cookie costs one call per interval
        else:
            unavailable = UpstreamUnavailable("The user service cannot say who is signed in; try again shortly.")
            unavailable.retry_after = 5
            raise unavailable
        _remember(key, known)
    return StaffUser(**known) if known else None


def sign_out(request) -> None:
    """End the staff session at the user service (every admin's, and /ops/'s)."""
    cookie = _session_cookie(request)
    if cookie is None:
        return
    _ask("DELETE", cookie)
    _remember(_cache_key(cookie), None)
