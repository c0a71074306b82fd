"""Reads of the user service. Reads of one user go to a replica of that user's shard."""

from shared.db import replicas, shards
from shared.errors import NotFound
from users.models import User


def user_get(*, user_id: int) -> User:
    """The active user `user_id`, read from a replica of its shard (or the primary when pinned)."""
    user = replicas.read_by_id(User.objects.filter(is_active=True), user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def user_find_by_email(*, email: str) -> User | None:
    """The user with `email`, read from the primary of its shard: login must see a just-made account."""
    alias = shards.primary_for_shard(shards.shard_for_natural_key(email))
    return User.objects.using(alias).filter(email=email.strip().lower(), is_active=True).first()
