"""Writes of the user service: registration, tokens, profile changes, order statistics.

Each runs on its user's shard primary."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone as dj_timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from shared.db import shards
from shared.errors import ApplicationError, ValidationFailed
from shared.events.inbox import inbox
from shared.events.outbox import publish
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


def user_register(*, email: str, password: str, name: str = "", is_staff: bool = False) -> User:
    """Create an account on the shard its e-mail hashes to. The e-mail is unique case-insensitively."""
    email = User.objects.normalize_email(email.strip()).lower()
    user = User(email=email, name=name, is_staff=is_staff)
    _set_password(user, password)
    taken = ValidationFailed({"email": ["This e-mail is already registered."]})
    return shards.insert_new(user, shard=shards.shard_for_natural_key(email), on_duplicate=taken)


def _issue_tokens(user: User, alias: str) -> dict:
    refresh = RefreshToken.for_user(user)
    refresh["user_id"] = str(user.id)
    refresh["is_staff"] = user.is_staff
    RefreshTokenRecord.objects.using(alias).create(
        jti=refresh["jti"], user_id=user.id, expires_at=datetime.fromtimestamp(refresh["exp"], tz=UTC)
    )
    # the access token inherits user_id and is_staff from the refresh token's claims
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def user_login(*, email: str, password: str) -> dict:
    """A new access/refresh pair for valid credentials; the same 401 whether or not the e-mail exists."""
    user = user_find_by_email(email=email)
    if user is None:
        make_password(password)  # spend the same time as a real check: no hint that the e-mail is unknown
        raise InvalidCredentials("E-mail or password is wrong.")
    if not user.check_password(password):
        raise InvalidCredentials("E-mail or password is wrong.")
    return _issue_tokens(user, user._state.db)


def token_refresh(*, refresh: str) -> dict:
    """Rotate a refresh token: the old one is revoked, a new pair is issued.

    Presenting a revoked refresh token again (a stolen token being replayed) revokes every refresh
    token of that user.
    """
    try:
        token = RefreshToken(refresh)
    except TokenError as exc:
        raise InvalidCredentials("The refresh token is invalid or expired.", code="invalid_token") from exc
    user_id = int(token["user_id"])
    alias = shards.primary_for_id(user_id)
    now = dj_timezone.now()
    with transaction.atomic(using=alias):
        record = RefreshTokenRecord.objects.using(alias).select_for_update().filter(jti=token["jti"]).first()
        user = User.objects.using(alias).filter(id=user_id, is_active=True).first()
        if record is not None and record.revoked_at is None and user is not None:
            record.revoked_at = now
            record.save(using=alias, update_fields=["revoked_at"])
            return _issue_tokens(user, alias)
        # unknown or already rotated: treat as a replay and revoke what the user still has
        RefreshTokenRecord.objects.using(alias).filter(user_id=user_id, revoked_at=None).update(revoked_at=now)
    raise InvalidCredentials("The refresh token has been revoked.", code="token_revoked")


def user_update(*, user: User, name: str | None = None, password: str | None = None) -> User:
    """Change the profile; the e-mail cannot change because it decides the user's shard."""
    fields = ["updated_at"]
    if name is not None:
        user.name = name
        fields.append("name")
    if password is not None:
        _set_password(user, password)
        fields.append("password")
    alias = shards.primary_for_id(user.id)
    user.save(using=alias, update_fields=fields)
    return user


def user_delete(*, user: User) -> None:
    """Delete the account and revoke its refresh tokens."""
    alias = shards.primary_for_id(user.id)
    with transaction.atomic(using=alias):
        RefreshTokenRecord.objects.using(alias).filter(user_id=user.id, revoked_at=None).update(
            revoked_at=dj_timezone.now()
        )
        User.objects.using(alias).filter(id=user.id).delete()
        publish("user.deleted", {"user_id": str(user.id)}, using=alias)


def user_stats_record(*, envelope: dict) -> None:
    """`order.confirmed`: count the order and its total in the user's statistics, once per event."""
    payload = envelope["payload"]
    user_id = int(payload["user_id"])
    alias = shards.primary_for_id(user_id)
    with inbox(envelope, using=alias) as fresh:
        if fresh:
            User.objects.using(alias).filter(id=user_id).update(
                orders_count=F("orders_count") + 1, orders_total=F("orders_total") + Decimal(payload["total"])
            )
