"""Registration, login, token refresh and token checks, through the gateway."""

import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest

from support import PASSWORD, Client, User, assert_error, compose, login, process_of, psql, register, server_of

NEW_PASSWORD = "another-horse-staple-7"
# the user domain's REFRESH_GRACE_SECONDS (services/user/users/domain_settings.py)
REFRESH_GRACE_SECONDS = float(os.environ.get("REFRESH_GRACE_SECONDS", "5"))


def test_register_returns_the_account_and_stores_it_once_on_its_shard_server():
    # when
    user = register(email=f"Mixed.{uuid.uuid4().hex[:8]}@Example.COM")
    # then: the e-mail is stored lower-cased, on exactly the server the ID's shard names
    home = server_of(user.id)
    rows = psql(f"user-db-{home}", "users", f"SELECT email FROM users_user WHERE id = {user.id}")
    assert rows == [[user.email.lower()]]
    assert psql(f"user-db-{1 - home}", "users", f"SELECT 1 FROM users_user WHERE id = {user.id}") == []
    # and the password is hashed, with Argon2id at OWASP's parameters (users/hashers.py)
    stored = psql(f"user-db-{home}", "users", f"SELECT password FROM users_user WHERE id = {user.id}")[0][0]
    assert stored.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$") and PASSWORD not in stored


def test_email_is_unique_case_insensitively():
    user = register()
    response = Client().post("/api/auth/register/", json={"email": user.email.upper(), "password": PASSWORD})
    error = assert_error(response, 400, "validation_error")
    assert "email" in error["fields"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "weak@example.com", "password": "123"}, "password"),
        ({"email": "weak2@example.com", "password": "password"}, "password"),
        ({"password": PASSWORD}, "email"),
    ],
)
def test_register_rejects_bad_input_with_field_errors(body, field):
    error = assert_error(Client().post("/api/auth/register/", json=body), 400, "validation_error")
    assert field in error["fields"]


def test_client_cannot_make_itself_staff():
    client = Client()
    email = f"sneaky-{uuid.uuid4().hex[:8]}@example.com"
    response = client.post("/api/auth/register/", json={"email": email, "password": PASSWORD, "is_staff": True})
    assert response.status_code == 201
    user = login(User(client=client, id=response.json()["id"], email=email))
    me = client.get("/api/users/me/", headers=user.auth).json()
    assert me["is_staff"] is False
    patched = client.patch("/api/users/me/", json={"is_staff": True, "name": "N"}, headers=user.auth)
    assert patched.status_code == 200 and patched.json()["is_staff"] is False


def test_wrong_password_and_unknown_email_get_the_same_401():
    user = register()
    wrong = Client().post("/api/auth/login/", json={"email": user.email, "password": "wrong-password-1"})
    unknown = Client().post("/api/auth/login/", json={"email": "nobody-" + user.email, "password": "wrong-password-1"})
    assert assert_error(wrong, 401) == assert_error(unknown, 401)


def test_refresh_rotates_and_the_old_refresh_token_is_refused(user):
    # when
    first = user.client.post("/api/auth/refresh/", json={"refresh": user.refresh})
    # then
    assert first.status_code == 200
    pair = first.json()
    assert pair["refresh"] != user.refresh and pair["access"]
    assert user.client.get("/api/users/me/", headers={"Authorization": f"Bearer {pair['access']}"}).status_code == 200
    # reuse of the rotated token after its grace window is refused, and revokes the token that replaced it
    time.sleep(REFRESH_GRACE_SECONDS + 0.5)
    assert_error(user.client.post("/api/auth/refresh/", json={"refresh": user.refresh}), 401, "token_revoked")
    assert_error(user.client.post("/api/auth/refresh/", json={"refresh": pair["refresh"]}), 401, "token_revoked")


def test_two_concurrent_refreshes_of_one_token_both_get_a_working_pair(user):
    # when: two tabs refresh the same token at the same moment
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda _: Client().post("/api/auth/refresh/", json={"refresh": user.refresh}), [1, 2]))
    # then: neither is taken for a replay; both new refresh tokens work
    assert [answer.status_code for answer in answers] == [200, 200], [answer.text for answer in answers]
    for answer in answers:
        refreshed = Client().post("/api/auth/refresh/", json={"refresh": answer.json()["refresh"]})
        assert refreshed.status_code == 200, refreshed.text


def test_the_rotated_token_again_within_the_grace_window_logs_nobody_out(user):
    # given
    pair = user.client.post("/api/auth/refresh/", json={"refresh": user.refresh}).json()
    # when: the same old token again at once (a retry after a lost response)
    again = user.client.post("/api/auth/refresh/", json={"refresh": user.refresh})
    # then
    assert again.status_code == 200, again.text
    assert user.client.post("/api/auth/refresh/", json={"refresh": pair["refresh"]}).status_code == 200


def test_logout_revokes_the_refresh_token_and_is_204(user):
    # when
    first = user.client.post("/api/auth/logout/", json={"refresh": user.refresh})
    again = user.client.post("/api/auth/logout/", json={"refresh": user.refresh})
    # then
    assert first.status_code == 204 and again.status_code == 204
    assert_error(user.client.post("/api/auth/refresh/", json={"refresh": user.refresh}), 401, "token_revoked")
    jti = jwt.decode(user.refresh, options={"verify_signature": False})["jti"]
    rows = psql(
        f"user-db-{server_of(user.id)}",
        "users",
        f"SELECT revoked_at IS NOT NULL FROM users_refreshtokenrecord WHERE jti = '{jti}'",
    )
    assert rows == [["t"]]


def test_logout_with_a_token_that_is_not_a_refresh_token_is_401(user):
    assert_error(user.client.post("/api/auth/logout/", json={"refresh": user.access}), 401, "invalid_token")
    assert_error(user.client.post("/api/auth/logout/", json={}), 400, "validation_error")


def test_changing_the_password_needs_the_current_one(user):
    # when
    missing = user.client.patch("/api/users/me/", json={"password": NEW_PASSWORD}, headers=user.auth)
    wrong = user.client.patch(
        "/api/users/me/", json={"password": NEW_PASSWORD, "current_password": "wrong-password-1"}, headers=user.auth
    )
    # then
    for response in (missing, wrong):
        assert "current_password" in assert_error(response, 400, "validation_error")["fields"]
    login(User(client=Client(), id=user.id, email=user.email))  # the old password still works


def test_changing_the_password_revokes_every_refresh_token(user):
    # given: a second session
    other = login(User(client=Client(), id=user.id, email=user.email))
    # when
    changed = user.client.patch(
        "/api/users/me/", json={"password": NEW_PASSWORD, "current_password": PASSWORD}, headers=user.auth
    )
    # then
    assert changed.status_code == 200, changed.text
    for session in (user, other):
        assert_error(session.client.post("/api/auth/refresh/", json={"refresh": session.refresh}), 401)
    live = psql(
        f"user-db-{server_of(user.id)}",
        "users",
        f"SELECT count(*) FROM users_refreshtokenrecord WHERE user_id = {user.id} AND revoked_at IS NULL",
    )
    assert live == [["0"]]
    assert_error(Client().post("/api/auth/login/", json={"email": user.email, "password": PASSWORD}), 401)
    login(User(client=Client(), id=user.id, email=user.email), password=NEW_PASSWORD)


def test_access_token_is_short_lived_rs256_with_issuer_and_audience(user):
    header = jwt.get_unverified_header(user.access)
    claims = jwt.decode(user.access, options={"verify_signature": False})
    assert header["alg"] == "RS256"
    assert claims["exp"] - claims["iat"] <= 15 * 60
    assert claims["iss"] and claims["aud"]


def _private_key() -> str:
    return compose("exec", "-T", *process_of("user"), "cat", "/keys/private/jwt_private.pem")


def _claims(user, **changes) -> dict:
    claims = jwt.decode(user.access, options={"verify_signature": False})
    return {**claims, **changes}


@pytest.mark.parametrize("where", ["/api/users/me/", "/api/orders/"])
def test_forged_expired_and_unsigned_tokens_are_401(user, where):
    key = _private_key()
    now = int(time.time())
    bad_tokens = {
        "expired": jwt.encode(_claims(user, exp=now - 60, iat=now - 1000), key, algorithm="RS256"),
        "wrong audience": jwt.encode(_claims(user, aud="someone-else"), key, algorithm="RS256"),
        "wrong issuer": jwt.encode(_claims(user, iss="evil"), key, algorithm="RS256"),
        "forged (HS256, a key of our own)": jwt.encode(
            _claims(user), "a-secret-that-is-not-the-signing-key", algorithm="HS256"
        ),
        "alg none": jwt.encode(_claims(user), None, algorithm="none"),
        "tampered": user.access[:-8] + ("A" * 8 if not user.access.endswith("A" * 8) else "B" * 8),
    }
    for name, token in bad_tokens.items():
        response = user.client.get(where, headers={"Authorization": f"Bearer {token}"})
        assert_error(response, 401), name


def test_profile_read_update_delete(user):
    me = user.client.get("/api/users/me/", headers=user.auth)
    assert me.status_code == 200 and me.json()["email"] == user.email and me.json()["orders_count"] == 0
    patched = user.client.patch("/api/users/me/", json={"name": "Renamed", "email": "x@y.z"}, headers=user.auth)
    assert patched.status_code == 200
    assert patched.json()["name"] == "Renamed" and patched.json()["email"] == user.email
    # when
    assert user.client.delete("/api/users/me/", headers=user.auth).status_code == 204
    # then: the account is gone from its shard and can no longer log in
    assert psql(f"user-db-{server_of(user.id)}", "users", f"SELECT 1 FROM users_user WHERE id = {user.id}") == []
    assert_error(Client().post("/api/auth/login/", json={"email": user.email, "password": PASSWORD}), 401)
