"""Writes of the user service: registration, tokens, profile changes, order statistics.

Each runs on its user's shard primary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone as dj_timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from shared.db import shards
from shared.db.inserts import insert_together
from shared.errors import ApplicationError, Conflict, ValidationFailed
from shared.events.inbox import inbox_apply
from shared.events.outbox import publish
from users import throttle
from users.models import RefreshTokenRecord, User
from users.selectors import user_find_by_email


class InvalidCredentials(ApplicationError):
    status_code = 401
    code = "invalid_credentials"


def _set_password(user: User, password: str) -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationFailed({"password": exc.messages}) from None
    user.set_password(password)


def _save(user: User, fields: list[str]) -> None:
    """Save `fields` of `user` on its shard's primary; a new password revokes every refresh token of the user."""
    alias = shards.primary_for_id(user.id)
    with transaction.atomic(using=alias):
        user.save(using=alias, update_fields=fields)
        if "password" in fields:
            _revoke_all(alias=alias, user_id=user.id)


def _revoke_all(*, alias: str, user_id: int) -> None:
    """Revoke every refresh token of the user and end the grace window of those rotated recently."""
    tokens = RefreshTokenRecord.objects.using(alias).filter(user_id=user_id)
    tokens.filter(revoked_at=None).update(revoked_at=dj_timezone.now())
    tokens.exclude(grace_until=None).update(grace_until=None)


def _refresh_token(raw: str) -> RefreshToken:
    try:
        return RefreshToken(raw)
    except TokenError as exc:
        raise InvalidCredentials("The refresh token is invalid or expired.", code="invalid_token") from exc


def user_register(*, email: str, password: str, name: str = "", is_staff: bool = False) -> User:
    """Create an account on the shard its e-mail hashes to. The e-mail is unique case-insensitively."""
    email = User.objects.normalize_email(email.strip()).lower()
    user = User(email=email, name=name, is_staff=is_staff)
    _set_password(user, password)
    taken = ValidationFailed({"email": ["This e-mail is already registered."]})
    return shards.insert_new(user, shard=shards.shard_for_natural_key(email), on_duplicate=taken)


def _issue_tokens(user: User, alias: str) -> dict:
    """A new pair, its refresh token recorded. A login's record (in autocommit) commits without waiting
    for the synchronous standby: lost in a failover, in the milliseconds before the standby has it, the
    token is unknown when presented, taken for a replay (`token_refresh`), and the user logs in again.
    A rotation's record commits with the revocation of the old token, which waits as every write does."""
    refresh = RefreshToken.for_user(user)
    refresh["user_id"] = str(user.id)
    refresh["is_staff"] = user.is_staff
    record = RefreshTokenRecord(
        jti=refresh["jti"], user_id=user.id, expires_at=datetime.fromtimestamp(refresh["exp"], tz=UTC)
    )
    connection = connections[alias]
    insert_together([record], using=alias, commit_locally=not connection.in_atomic_block)
    # the access token inherits user_id and is_staff from the refresh token's claims
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def user_authenticate(*, email: str, password: str) -> User:
    """The active account with these credentials; the same 401 whether or not the e-mail exists, and the
    same 429 once the e-mail has failed too often (users.throttle). Every way in (tokens, the staff pages'
    session) checks credentials here."""
    account = User.objects.normalize_email(email.strip()).lower()
    throttle.check(account)
    user = user_find_by_email(email=email)
    if user is None:
        make_password(password)  # spend the same time as a real check: no hint that the e-mail is unknown
        throttle.record_failure(account)
        raise InvalidCredentials("E-mail or password is wrong.")
    if not user.check_password(password):
        throttle.record_failure(account)
        raise InvalidCredentials("E-mail or password is wrong.")
    throttle.record_success(account)
    return user


def user_login(*, email: str, password: str) -> dict:
    """A new access/refresh pair for valid credentials (`user_authenticate`)."""
    user = user_authenticate(email=email, password=password)
    return _issue_tokens(user, user._state.db)


def token_refresh(*, refresh: str) -> dict:
    """Rotate a refresh token: the old one is revoked, a new pair is issued.

    Presenting a revoked refresh token again (a stolen token being replayed) revokes every refresh
    token of that user, with one exception: a token rotated less than `REFRESH_GRACE_SECONDS` ago gets
    a fresh pair of its own, and nothing is revoked. Two refreshes of one token that cross (two tabs,
    a retry after a lost response) would otherwise look like a replay and log the user out; the one
    that comes second waits on the row lock and then finds the token in its grace window.

    A fresh pair rather than the one the first rotation issued: only token IDs are stored, never
    tokens, and a second pair is as good to the client. For those seconds a thief replaying the old
    token is not caught, but gets nothing it could not have had by using the token before its rotation.
    Any revocation (logout, a password change, a replay, deletion) ends the grace windows of the user.
    """
    token = _refresh_token(refresh)
    user_id = int(token["user_id"])
    alias = shards.primary_for_id(user_id)
    now = dj_timezone.now()
    with transaction.atomic(using=alias):
        record = RefreshTokenRecord.objects.using(alias).select_for_update().filter(jti=token["jti"]).first()
        user = User.objects.using(alias).filter(id=user_id, is_active=True).first()
        if record is not None and user is not None:
            if record.revoked_at is None:
                record.revoked_at = now
                record.grace_until = now + timedelta(seconds=settings.REFRESH_GRACE_SECONDS)
                record.save(using=alias, update_fields=["revoked_at", "grace_until"])
                return _issue_tokens(user, alias)
            if record.grace_until is not None and record.grace_until > now:
                return _issue_tokens(user, alias)
        # unknown, or revoked and out of its grace window: treat as a replay and revoke what the user has
        _revoke_all(alias=alias, user_id=user_id)
    raise InvalidCredentials("The refresh token has been revoked.", code="token_revoked")


def token_revoke(*, refresh: str) -> None:
    """Log out: revoke this refresh token (and end its grace window). Revoking it again changes nothing."""
    token = _refresh_token(refresh)
    alias = shards.primary_for_id(int(token["user_id"]))
    RefreshTokenRecord.objects.using(alias).filter(jti=token["jti"]).update(
        revoked_at=Coalesce("revoked_at", Value(dj_timezone.now())), grace_until=None
    )


def user_update(
    *, user: User, name: str | None = None, password: str | None = None, current_password: str | None = None
) -> User:
    """Change the profile; the e-mail cannot change because it decides the user's shard.

    A new password needs the current one and revokes every refresh token of the user (access tokens
    already issued stay valid until they expire: ACCESS_TOKEN_LIFETIME).
    """
    fields = ["updated_at"]
    if name is not None:
        user.name = name
        fields.append("name")
    if password is not None:
        if not current_password or not user.check_password(current_password):
            raise ValidationFailed({"current_password": ["Give the current password to set a new one."]})
        _set_password(user, password)
        fields.append("password")
    _save(user, fields)
    return user


def user_staff_update(*, user: User, name: str | None = None, is_active: bool | None = None) -> User:
    """What staff may change of an account (Django's admin): its name, and whether it is active.

    A deactivated account can no longer sign in, its refresh tokens are revoked at once, and its staff
    session (if any) ends with it (`auth_backends.AccountBackend.get_user` finds active accounts only)."""
    fields = ["updated_at"]
    if name is not None:
        user.name = name
        fields.append("name")
    if is_active is not None:
        user.is_active = is_active
        fields.append("is_active")
    alias = shards.primary_for_id(user.id)
    with transaction.atomic(using=alias):
        user.save(using=alias, update_fields=fields)
        if is_active is False:
            _revoke_all(alias=alias, user_id=user.id)
    return user


def admin_seed(*, email: str, password: str) -> tuple[User, str]:
    """Make the configured admin account true: create it, or set its password to `password`.

    Returns the account and what was done: "created", "password_reset" or "unchanged". An account
    with that e-mail that is not staff is never made one (whoever registered it would get an admin's
    rights): that is a Conflict, and nothing changes.
    """
    user = user_find_by_email(email=email)
    if user is None:
        return user_register(email=email, password=password, name="Admin", is_staff=True), "created"
    if not user.is_staff:
        raise Conflict(
            f"{user.email} is a registered account that is not an admin, and is not made one. "
            "Set ADMIN_EMAIL to another address (or delete that account) and seed again.",
            code="admin_email_taken",
        )
    if user.check_password(password):
        return user, "unchanged"
    _set_password(user, password)
    _save(user, ["password", "updated_at"])
    return user, "password_reset"


def user_delete(*, user: User) -> None:
    """Delete the account and revoke its refresh tokens."""
    alias = shards.primary_for_id(user.id)
    with transaction.atomic(using=alias):
        _revoke_all(alias=alias, user_id=user.id)
        User.objects.using(alias).filter(id=user.id).delete()
        publish("user.deleted", {"user_id": str(user.id)}, using=alias)


def user_stats_record(*, envelope: dict) -> None:
    """`order.confirmed`: count the order and its total in the user's statistics, once per event.

    The inbox claim and the UPDATE are one statement (`inbox_apply`): one round trip, where a
    transaction around them would take four.
    """
    payload = envelope["payload"]
    user_id = int(payload["user_id"])
    counted = (
        f"UPDATE {User._meta.db_table} SET orders_count = orders_count + 1, orders_total = orders_total + %(total)s "
        "WHERE id = %(user_id)s AND {claimed}"
    )
    inbox_apply(
        envelope,
        using=shards.primary_for_id(user_id),
        effects={"counted": counted},
        params={"total": Decimal(payload["total"]), "user_id": user_id},
    )
