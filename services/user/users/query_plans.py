"""The user service's public reads, for the query-plan checks (shared/db/plans.py).

Login finds a user by e-mail on the primary of its shard; the profile (`/api/users/me/`) reads a user
by ID from a replica. `users/tests/test_query_plans.py` runs them on 30,000 users, `manage.py
check_query_plans` on the live user base, for users taken from each server.
"""

from __future__ import annotations

from collections.abc import Callable

from shared.db import shards
from users import selectors
from users.models import User

LARGE_TABLES = {"users_user", "users_refreshtokenrecord"}
MENTIONING = "users_"


def public_reads(*, users: list[User] | None = None) -> list[Callable]:
    """Login's lookup by e-mail (also of an unknown address) and the profile by ID, for `users`
    (by default the first and the newest active user of each server)."""
    if users is None:
        active = [User.objects.using(alias).filter(is_active=True) for alias in shards.primaries()]
        users = [user for query in active for user in (query.order_by("id").first(), query.order_by("-id").first())]
        users = [user for user in users if user is not None]
    return [
        *(lambda email=user.email: selectors.user_find_by_email(email=email) for user in users),
        *(lambda user_id=user.id: selectors.user_get(user_id=user_id) for user in users),
        lambda: selectors.user_find_by_email(email="nobody-here@example.com"),
    ]
