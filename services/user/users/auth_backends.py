"""Django's authentication for the staff pages' sessions (`/ops/`), on sharded accounts.

Django's ModelBackend reads `User._default_manager`, which the shard router refuses for a sharded model:
this backend checks credentials as the API's login does and finds a session's user on its shard.
"""

from __future__ import annotations

from shared import domains
from shared.errors import ApplicationError, NotFound
from users import selectors, services


class AccountBackend:
    def authenticate(self, request, email: str | None = None, password: str | None = None, **kwargs):
        if email is None or password is None:
            return None
        try:
            with domains.of_code(__name__):
                return services.user_authenticate(email=email, password=password)
        except ApplicationError:
            return None

    def get_user(self, user_id):
        """The session's user, if still active (a replica read; Django then checks the session's password hash)."""
        try:
            with domains.of_code(__name__):  # in the monolith, also from another domain's admin pages
                return selectors.user_get(user_id=int(user_id))
        except (NotFound, TypeError, ValueError):
            return None
