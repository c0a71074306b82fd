"""`manage.py seed_admin`: creates the admin, makes ADMIN_PASSWORD true, never promotes another account."""

import io

import pytest
from django.core.management import CommandError, call_command

from shared.db import shards
from users.models import User
from users.selectors import user_find_by_email
from users.services import InvalidCredentials, token_refresh, user_login, user_register

pytestmark = pytest.mark.django_db(databases="__all__")
EMAIL = "root@example.com"
PASSWORD = "seeded-Passw0rd!"


@pytest.fixture(autouse=True)
def admin_env(monkeypatch):
    monkeypatch.setenv("ADMIN_EMAIL", EMAIL)
    monkeypatch.setenv("ADMIN_PASSWORD", PASSWORD)


def _seed() -> str:
    out = io.StringIO()
    call_command("seed_admin", stdout=out)
    return out.getvalue()


def test_creates_the_admin_once():
    # when
    first, second = _seed(), _seed()
    # then
    assert "created admin" in first and "already there" in second
    admin = user_find_by_email(email=EMAIL)
    assert admin.is_staff and admin.check_password(PASSWORD)


def test_resets_the_password_of_the_existing_admin_to_admin_password(monkeypatch):
    # given: the admin was seeded with another password (.env changed since)
    monkeypatch.setenv("ADMIN_PASSWORD", "the-old-Passw0rd!")
    _seed()
    old_pair = user_login(email=EMAIL, password="the-old-Passw0rd!")
    monkeypatch.setenv("ADMIN_PASSWORD", PASSWORD)
    # when
    out = _seed()
    # then
    assert "password is now ADMIN_PASSWORD" in out
    assert user_login(email=EMAIL, password=PASSWORD)
    with pytest.raises(InvalidCredentials):
        user_login(email=EMAIL, password="the-old-Passw0rd!")
    with pytest.raises(InvalidCredentials):
        token_refresh(refresh=old_pair["refresh"])


def test_never_promotes_an_account_someone_registered_with_the_admin_email():
    # given
    squatter = user_register(email=EMAIL, password="squatters-Passw0rd!")
    # when
    with pytest.raises(CommandError, match="not an admin, and is not made one"):
        _seed()
    # then: left exactly as it was
    stored = User.objects.using(shards.primary_for_id(squatter.id)).get(id=squatter.id)
    assert stored.is_staff is False
    assert stored.check_password("squatters-Passw0rd!") and not stored.check_password(PASSWORD)


def test_a_weak_admin_password_is_refused_with_the_reason(monkeypatch):
    monkeypatch.setenv("ADMIN_PASSWORD", "123")
    with pytest.raises(CommandError, match="password"):
        _seed()
    assert user_find_by_email(email=EMAIL) is None
