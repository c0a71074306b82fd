"""The staff pages: sign-in with a session (cached_db), who may see the dashboard, and its data."""

from __future__ import annotations

import uuid

import pytest
import requests
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.test import Client

from ops import prometheus
from ops.charts import CHARTS
from shared.db import shards
from users.models import RefreshTokenRecord, User
from users.services import user_login, user_register

PASSWORD = "correct-horse-battery-9"
pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(autouse=True)
def local_cache(settings):
    """A cache that works (the unit tests' default cache is an address where no Redis answers)."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex}
    }


def _sign_in(email: str, password: str = PASSWORD) -> tuple[Client, object]:
    client = Client(enforce_csrf_checks=True)
    client.get("/ops/login/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/ops/login/", {"email": email, "password": password, "csrfmiddlewaretoken": token, "next": "/ops/"}
    )
    return client, response


def test_a_staff_account_signs_in_and_its_session_is_stored_on_the_home_server():
    # given
    user_register(email="ops@example.com", password=PASSWORD, is_staff=True)
    # when
    client, response = _sign_in("ops@example.com")
    # then: redirected to the dashboard, which lists every chart
    assert response.status_code == 302 and response["Location"] == "/ops/"
    page = client.get("/ops/")
    assert page.status_code == 200
    assert all(f'data-chart="{chart.id}"' in page.content.decode() for chart in CHARTS)
    assert page["Cache-Control"].startswith("private")
    # and: the session is a row in the home server's database (the cache only saves reading it)
    session_key = client.cookies["ops_session"].value
    assert Session.objects.using(shards.home_primary()).filter(session_key=session_key).exists()


def test_a_non_staff_account_or_a_wrong_password_gets_no_session():
    # given
    user_register(email="pat@example.com", password=PASSWORD)
    user_register(email="ops@example.com", password=PASSWORD, is_staff=True)
    for email, password in [("pat@example.com", PASSWORD), ("ops@example.com", "wrong-password-1")]:
        # when
        client, response = _sign_in(email, password)
        # then: the form again, with the reason, and no way to the dashboard
        assert response.status_code == 200
        assert "ops_session" not in client.cookies
        assert client.get("/ops/").status_code == 302


def test_anyone_else_is_sent_to_sign_in_and_the_data_is_a_json_403():
    page = Client().get("/ops/")
    assert page.status_code == 302 and page["Location"] == "/ops/login/?next=/ops/"
    data = Client().get("/ops/series/")
    assert data.status_code == 403
    assert data.json()["error"]["code"] == "permission_denied"


def test_a_sign_in_without_its_csrf_token_is_refused():
    user_register(email="ops@example.com", password=PASSWORD, is_staff=True)
    client = Client(enforce_csrf_checks=True)
    response = client.post("/ops/login/", {"email": "ops@example.com", "password": PASSWORD})
    assert response.status_code == 403
    assert "ops_session" not in client.cookies


def test_failed_sign_ins_are_throttled_per_account_as_the_api_login_is(settings):
    # given
    settings.LOGIN_FAILURE_LIMIT = 2
    user_register(email="ops@example.com", password=PASSWORD, is_staff=True)
    for _ in range(2):
        _sign_in("ops@example.com", "wrong-password-1")
    # when: even the right password, while the account is locked
    client, response = _sign_in("ops@example.com")
    # then
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "ops_session" not in client.cookies


def test_the_session_outlives_its_cache(monkeypatch):
    # given: a signed-in staff member
    user_register(email="ops@example.com", password=PASSWORD, is_staff=True)
    client, _ = _sign_in("ops@example.com")

    # when: the session cache cannot be reached at all (redis-cache restarting)
    def unreachable(*args, **kwargs):
        raise ConnectionError("redis-cache is down")

    store = caches["default"]
    for name in ("get", "set", "delete", "has_key"):
        monkeypatch.setattr(store, name, unreachable)
    # then: the database row carries the session
    assert client.get("/ops/").status_code == 200


def test_series_aligns_every_line_on_one_time_axis(monkeypatch, settings):
    # given: Prometheus answers two lines, one with a gap and a NaN
    settings.OPS_WINDOW_SECONDS, settings.OPS_STEP_SECONDS = 20, 5
    monkeypatch.setattr(prometheus.time, "time", lambda: 1000.0)
    result = [
        {"metric": {"service": "product"}, "values": [[980, "1"], [985, "2"], [995, "NaN"], [1000, "4"]]},
        {"metric": {"service": "order"}, "values": [[1000, "0.5"]]},
    ]

    class Answer:
        def raise_for_status(self):
            pass

        def json(self):
            return {"status": "success", "data": {"resultType": "matrix", "result": result}}

    monkeypatch.setattr(prometheus.requests, "get", lambda *a, **k: Answer())
    # when
    chart = prometheus.query_range("q", label="service", seconds=20, step=5, scale=1000)
    # then
    assert chart == {
        "x": [980, 985, 990, 995, 1000],
        "lines": [
            {"name": "order", "values": [None, None, None, None, 500.0]},
            {"name": "product", "values": [1000.0, 2000.0, None, None, 4000.0]},
        ],
    }


def test_series_without_prometheus_is_a_json_503(monkeypatch):
    # given
    user_register(email="ops@example.com", password=PASSWORD, is_staff=True)
    client, _ = _sign_in("ops@example.com")

    def refused(*args, **kwargs):
        raise requests.ConnectionError("no route")

    monkeypatch.setattr(prometheus.requests, "get", refused)
    # when
    response = client.get("/ops/series/")
    # then
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "prometheus_unavailable"


def test_signing_out_with_the_pages_form_ends_the_session():
    # given
    user_register(email="ops@example.com", password=PASSWORD, is_staff=True)
    client, _ = _sign_in("ops@example.com")
    page = client.get("/ops/").content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    # when: the dashboard's sign-out form is sent
    response = client.post("/ops/logout/", {"csrfmiddlewaretoken": token})
    # then
    assert response.status_code == 302 and response["Location"] == "/ops/login/"
    assert client.get("/ops/").status_code == 302


def test_the_internal_staff_session_names_its_staff_member_and_ends_it():
    """What the product and order admins ask (shared/staff/remote.py), with the session's cookie forwarded."""
    # given
    staff = user_register(email="ops@example.com", password=PASSWORD, is_staff=True)
    user_register(email="pat@example.com", password=PASSWORD)
    client, _ = _sign_in("ops@example.com")
    # when / then
    named = client.get("/internal/staff-session/")
    assert named.status_code == 200
    assert named.json() == {"id": str(staff.id), "email": "ops@example.com", "name": ""}
    assert Client().get("/internal/staff-session/").status_code == 401
    # and: DELETE ends it, for /ops/ too
    assert client.delete("/internal/staff-session/").status_code == 204
    assert client.get("/internal/staff-session/").status_code == 401
    assert client.get("/ops/").status_code == 302


def test_the_user_admin_lists_a_servers_accounts_and_deactivating_one_revokes_its_tokens():
    # given: an account on each server, one of them signed in through the API
    user_register(email="ops@example.com", password=PASSWORD, is_staff=True)
    accounts = {}
    for n in range(40):
        user = user_register(email=f"u{n}@example.com", password=PASSWORD)
        accounts.setdefault(shards.primary_for_id(user.id), user)
    assert len(accounts) == len(shards.primaries())
    alias, target = next(iter(accounts.items()))
    user_login(email=target.email, password=PASSWORD)
    client, _ = _sign_in("ops@example.com")
    # when: the change list of the target's server
    page = client.get(f"/ops/admin/user/{alias}/users/user/")
    # then: its accounts, not the other server's, and never a password hash
    body = page.content.decode()
    assert page.status_code == 200 and target.email in body and "argon2" not in body
    assert all(other.email not in body for other_alias, other in accounts.items() if other_alias != alias)
    # when: deactivated with the change form
    url = f"/ops/admin/user/{alias}/users/user/{target.id}/change/"
    form = client.get(url)
    assert "argon2" not in form.content.decode()
    changed = client.post(
        url, {"csrfmiddlewaretoken": client.cookies["csrftoken"].value, "name": "Pat", "is_active": ""}
    )
    # then
    assert changed.status_code == 302
    row = User.objects.using(alias).get(id=target.id)
    assert (row.name, row.is_active) == ("Pat", False)
    tokens = RefreshTokenRecord.objects.using(alias).filter(user_id=target.id)
    assert tokens.exists() and not tokens.filter(revoked_at=None).exists()


def test_the_admins_sign_out_ends_the_staff_session():
    user_register(email="ops@example.com", password=PASSWORD, is_staff=True)
    client, _ = _sign_in("ops@example.com")
    index = f"/ops/admin/user/{shards.home_primary()}/"
    assert client.get(index).status_code == 200
    signed_out = client.post(f"{index}logout/", {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert signed_out.status_code == 302 and signed_out["Location"] == "/ops/login/"
    assert client.get("/ops/").status_code == 302
