import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from rest_framework_simplejwt.tokens import AccessToken

from shared.db import ids, shards
from shared.errors import ApplicationError
from users.models import RefreshTokenRecord, User
from users.selectors import user_get
from users.services import InvalidCredentials, token_refresh, user_delete, user_login, user_register

pytestmark = pytest.mark.django_db(databases="__all__")
PASSWORD = "correct-horse-battery-9"


def test_register_puts_the_user_on_the_shard_its_email_hashes_to():
    # when
    user = user_register(email="Ann@Example.com", password=PASSWORD, name="Ann")
    # then
    shard = shards.shard_for_natural_key("ann@example.com")
    assert ids.shard_of(user.id) == shard
    alias = shards.primary_for_shard(shard)
    assert User.objects.using(alias).get(id=user.id).email == "ann@example.com"
    other = "db1" if alias == "db0" else "db0"
    assert not User.objects.using(other).filter(id=user.id).exists()


def test_duplicate_email_in_another_case_is_refused():
    user_register(email="bob@example.com", password=PASSWORD)
    with pytest.raises(ApplicationError) as error:
        user_register(email="BOB@example.com", password=PASSWORD)
    assert "email" in error.value.fields


def test_weak_password_is_refused_with_field_errors():
    with pytest.raises(ApplicationError) as error:
        user_register(email="weak@example.com", password="12345")
    assert "password" in error.value.fields


def test_login_gives_tokens_that_carry_identity_and_staff_flag():
    user = user_register(email="carl@example.com", password=PASSWORD, is_staff=True)
    pair = user_login(email="CARL@example.com", password=PASSWORD)
    access = AccessToken(pair["access"])
    assert access["user_id"] == str(user.id) and access["is_staff"] is True


def test_wrong_password_and_unknown_email_are_the_same_error():
    user_register(email="dora@example.com", password=PASSWORD)
    with pytest.raises(InvalidCredentials) as wrong:
        user_login(email="dora@example.com", password="nope-nope-1")
    with pytest.raises(InvalidCredentials) as unknown:
        user_login(email="nobody@example.com", password="nope-nope-1")
    assert wrong.value.message == unknown.value.message


def test_refresh_rotates_and_replay_revokes_everything(settings):
    settings.REFRESH_GRACE_SECONDS = 0  # a replay is one after the grace window (test_accounts.py tests it)
    user = user_register(email="eve@example.com", password=PASSWORD)
    first = user_login(email="eve@example.com", password=PASSWORD)
    second = token_refresh(refresh=first["refresh"])
    assert second["refresh"] != first["refresh"]
    with pytest.raises(InvalidCredentials):
        token_refresh(refresh=first["refresh"])
    with pytest.raises(InvalidCredentials):
        token_refresh(refresh=second["refresh"])
    alias = shards.primary_for_id(user.id)
    assert not RefreshTokenRecord.objects.using(alias).filter(user_id=user.id, revoked_at=None).exists()


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_a_logins_token_record_commits_without_the_standby_and_a_rotations_with_the_revocation():
    # given: the service's connections in autocommit, as in a request
    user = user_register(email="gus@example.com", password=PASSWORD)
    alias = shards.primary_for_id(user.id)
    # when
    with CaptureQueriesContext(connections[alias]) as login:
        pair = user_login(email="gus@example.com", password=PASSWORD)
    with CaptureQueriesContext(connections[alias]) as rotation:
        token_refresh(refresh=pair["refresh"])

    # then: the login's record is one statement that is its own transaction, committed locally
    # (shared.db.inserts); the rotation's commits with the old token's revocation, waiting for the standby
    def inserts(captured) -> list[str]:
        return [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().startswith(("INSERT", "WITH"))]

    local = "set_config('synchronous_commit', 'local', true)"
    assert len(inserts(login)) == 1 and local in inserts(login)[0] and "users_refreshtokenrecord" in inserts(login)[0]
    assert len(inserts(rotation)) == 1 and local not in inserts(rotation)[0]
    assert RefreshTokenRecord.objects.using(alias).filter(user_id=user.id).count() == 2


def test_delete_removes_the_user():
    user = user_register(email="finn@example.com", password=PASSWORD)
    user_delete(user=user)
    with pytest.raises(ApplicationError):
        user_get(user_id=user.id)
