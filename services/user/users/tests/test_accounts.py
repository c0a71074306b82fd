"""Password change, logout and concurrent refreshes: services and endpoints."""

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from shared.db import shards
from shared.errors import ValidationFailed
from users.models import RefreshTokenRecord
from users.services import InvalidCredentials, token_refresh, token_revoke, user_login, user_register, user_update

PASSWORD = "correct-horse-battery-9"
NEW_PASSWORD = "another-horse-staple-7"


def _live_tokens(user) -> int:
    return (
        RefreshTokenRecord.objects.using(shards.primary_for_id(user.id))
        .filter(user_id=user.id, revoked_at=None)
        .count()
    )


def _client(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


@pytest.mark.django_db(databases="__all__")
@pytest.mark.parametrize("current", [None, "", "wrong-password-1"])
def test_a_new_password_needs_the_current_one(current):
    # given
    user = user_register(email="pat@example.com", password=PASSWORD)
    # when
    with pytest.raises(ValidationFailed) as error:
        user_update(user=user, password=NEW_PASSWORD, current_password=current)
    # then
    assert set(error.value.fields) == {"current_password"}
    assert user_login(email="pat@example.com", password=PASSWORD)


@pytest.mark.django_db(databases="__all__")
def test_changing_the_password_revokes_every_refresh_token():
    # given: two sessions
    user = user_register(email="quinn@example.com", password=PASSWORD)
    first = user_login(email="quinn@example.com", password=PASSWORD)
    user_login(email="quinn@example.com", password=PASSWORD)
    rotated = token_refresh(refresh=first["refresh"])  # leaves `first` in its grace window
    # when
    user_update(user=user, password=NEW_PASSWORD, current_password=PASSWORD)
    # then: no session survives, the rotated token's grace window included
    assert _live_tokens(user) == 0
    for refresh in (first["refresh"], rotated["refresh"]):
        with pytest.raises(InvalidCredentials):
            token_refresh(refresh=refresh)
    assert user_login(email="quinn@example.com", password=NEW_PASSWORD)


@pytest.mark.django_db(databases="__all__")
def test_patch_me_with_a_password_and_no_current_one_is_a_400_through_the_api():
    # given
    user_register(email="rae@example.com", password=PASSWORD)
    pair = user_login(email="rae@example.com", password=PASSWORD)
    client = _client(pair["access"])
    # when
    missing = client.patch("/api/users/me/", {"password": NEW_PASSWORD}, format="json")
    changed = client.patch("/api/users/me/", {"password": NEW_PASSWORD, "current_password": PASSWORD}, format="json")
    # then
    assert missing.status_code == 400 and set(missing.json()["error"]["fields"]) == {"current_password"}
    assert changed.status_code == 200
    assert APIClient().post("/api/auth/refresh/", {"refresh": pair["refresh"]}, format="json").status_code == 401


@pytest.mark.django_db(databases="__all__")
def test_logout_revokes_the_refresh_token_and_is_204_every_time():
    # given
    user_register(email="sam@example.com", password=PASSWORD)
    pair = user_login(email="sam@example.com", password=PASSWORD)
    # when
    first = APIClient().post("/api/auth/logout/", {"refresh": pair["refresh"]}, format="json")
    again = APIClient().post("/api/auth/logout/", {"refresh": pair["refresh"]}, format="json")
    # then
    assert first.status_code == 204 and again.status_code == 204
    with pytest.raises(InvalidCredentials) as error:
        token_refresh(refresh=pair["refresh"])
    assert error.value.code == "token_revoked"


@pytest.mark.django_db(databases="__all__")
def test_logout_of_a_token_other_sessions_keep_working():
    user_register(email="tia@example.com", password=PASSWORD)
    leaving = user_login(email="tia@example.com", password=PASSWORD)
    staying = user_login(email="tia@example.com", password=PASSWORD)
    token_revoke(refresh=leaving["refresh"])
    assert token_refresh(refresh=staying["refresh"])["access"]


@pytest.mark.django_db(databases="__all__")
@pytest.mark.parametrize("refresh", ["not-a-token", "access"])
def test_logout_with_something_that_is_not_a_refresh_token_is_401(refresh):
    user_register(email="uma@example.com", password=PASSWORD)
    pair = user_login(email="uma@example.com", password=PASSWORD)
    response = APIClient().post("/api/auth/logout/", {"refresh": pair.get(refresh, refresh)}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


@pytest.mark.django_db(databases="__all__")
def test_logout_ends_the_grace_window_of_a_rotated_token():
    user_register(email="val@example.com", password=PASSWORD)
    first = user_login(email="val@example.com", password=PASSWORD)
    token_refresh(refresh=first["refresh"])
    token_revoke(refresh=first["refresh"])
    with pytest.raises(InvalidCredentials):
        token_refresh(refresh=first["refresh"])


@pytest.mark.django_db(databases="__all__")
def test_a_token_refreshed_again_within_the_grace_window_gets_a_fresh_pair_and_revokes_nothing():
    # given
    user = user_register(email="wes@example.com", password=PASSWORD)
    first = user_login(email="wes@example.com", password=PASSWORD)
    winner = token_refresh(refresh=first["refresh"])
    # when: the same token again, as a second tab would
    loser = token_refresh(refresh=first["refresh"])
    # then: two distinct, live sessions
    assert RefreshToken(loser["refresh"])["jti"] != RefreshToken(winner["refresh"])["jti"]
    assert _live_tokens(user) == 2
    assert token_refresh(refresh=winner["refresh"]) and token_refresh(refresh=loser["refresh"])


@pytest.mark.django_db(databases="__all__")
def test_after_the_grace_window_a_rotated_token_is_a_replay():
    # given
    user = user_register(email="xan@example.com", password=PASSWORD)
    first = user_login(email="xan@example.com", password=PASSWORD)
    token_refresh(refresh=first["refresh"])
    alias = shards.primary_for_id(user.id)
    RefreshTokenRecord.objects.using(alias).filter(jti=RefreshToken(first["refresh"])["jti"]).update(
        grace_until=timezone.now() - timedelta(seconds=1)
    )
    # when / then
    with pytest.raises(InvalidCredentials) as error:
        token_refresh(refresh=first["refresh"])
    assert error.value.code == "token_revoked"
    assert _live_tokens(user) == 0


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_two_concurrent_refreshes_of_one_token_both_succeed():
    # given
    user = user_register(email="yul@example.com", password=PASSWORD)
    first = user_login(email="yul@example.com", password=PASSWORD)
    results, barrier = [], threading.Barrier(2)

    def refresh():
        barrier.wait()
        try:
            results.append(token_refresh(refresh=first["refresh"]))
        except InvalidCredentials as exc:
            results.append(exc)
        finally:
            connections.close_all()

    # when
    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then: neither is taken for a replay; the user has two live sessions
    assert all(isinstance(result, dict) for result in results), results
    assert _live_tokens(user) == 2
