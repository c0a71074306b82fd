"""The per-account throttle of failed logins (users.throttle), on a local-memory cache."""

import pytest

from users import throttle
from users.services import InvalidCredentials, user_login, user_register
from users.throttle import LoginThrottled

pytestmark = pytest.mark.django_db(databases="__all__")
PASSWORD = "correct-horse-battery-9"


@pytest.fixture(autouse=True)
def local_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.LOGIN_FAILURE_LIMIT = 5
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 900


def _fail(email: str, times: int) -> None:
    for _ in range(times):
        with pytest.raises(InvalidCredentials):
            user_login(email=email, password="wrong-password-1")


def test_five_failures_lock_the_account_with_retry_after_even_for_the_right_password():
    user_register(email="ann@example.com", password=PASSWORD)
    _fail("ann@example.com", 5)
    with pytest.raises(LoginThrottled) as locked:
        user_login(email="ann@example.com", password=PASSWORD)
    assert locked.value.status_code == 429 and locked.value.code == "rate_limited"
    assert 890 <= locked.value.retry_after <= 900


def test_the_account_is_counted_on_its_normalised_email():
    user_register(email="bob@example.com", password=PASSWORD)
    for spelling in ["bob@example.com", "BOB@Example.com", " Bob@EXAMPLE.COM", "bob@example.COM", "BOB@example.com"]:
        with pytest.raises(InvalidCredentials):
            user_login(email=spelling, password="wrong-password-1")
    with pytest.raises(LoginThrottled):
        user_login(email="bob@example.com", password=PASSWORD)


def test_unknown_emails_are_counted_like_accounts():
    _fail("nobody@example.com", 5)
    with pytest.raises(LoginThrottled):
        user_login(email="nobody@example.com", password="wrong-password-1")


def test_a_lock_is_per_account_and_another_accounts_login_does_not_lift_it():
    user_register(email="carl@example.com", password=PASSWORD)
    user_register(email="dora@example.com", password=PASSWORD)
    _fail("carl@example.com", 5)
    assert user_login(email="dora@example.com", password=PASSWORD)["access"]
    with pytest.raises(LoginThrottled):
        user_login(email="carl@example.com", password=PASSWORD)


def test_the_owners_success_clears_earlier_failures():
    user_register(email="eve@example.com", password=PASSWORD)
    _fail("eve@example.com", 4)
    user_login(email="eve@example.com", password=PASSWORD)
    _fail("eve@example.com", 4)
    assert user_login(email="eve@example.com", password=PASSWORD)["access"]


def test_the_lock_expires_by_itself_and_failures_while_locked_do_not_extend_it(monkeypatch):
    user_register(email="finn@example.com", password=PASSWORD)
    now = [1_000_000.0]
    monkeypatch.setattr(throttle.time, "time", lambda: now[0])
    _fail("finn@example.com", 5)
    for _ in range(20):  # an attacker keeps trying during the lock
        now[0] += 40
        with pytest.raises(LoginThrottled):
            user_login(email="finn@example.com", password="wrong-password-1")
    now[0] += 900 - 20 * 40 + 1  # the lock began 900 s ago
    assert user_login(email="finn@example.com", password=PASSWORD)["access"]


def test_logins_are_not_throttled_here_when_the_cache_is_down(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    user_register(email="gus@example.com", password=PASSWORD)
    _fail("gus@example.com", 6)
    assert user_login(email="gus@example.com", password=PASSWORD)["access"]
