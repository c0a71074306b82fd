"""`/ops/`, the staff pages through the edge: a Django session in `cached_db` on redis-cache that any
replica serves and a Redis restart does not lose, and a dashboard whose every chart has data when a
person (headless Chromium) looks at it. The screenshot is kept beside the benchmark results."""

from __future__ import annotations

import collections
import re
import uuid
from pathlib import Path

import pytest

from browser import Chromium
from support import ADMIN_EMAIL, ADMIN_PASSWORD, BASE_URL, PASSWORD, Client, assert_error, compose, sign_in, wait_for

pytestmark = pytest.mark.topology  # the /ops/ page reads the services' own metrics and replicas

SCREENSHOT = Path(__file__).resolve().parents[1] / "bench" / "results" / "ops-dashboard.png"
CHARTS = {"requests", "p99", "errors", "replicas", "decisions", "queues", "lag", "leaders", "sync", "cache", "outbox"}


def test_only_staff_get_a_session_and_everyone_else_is_sent_to_sign_in(user):
    # anyone: the page sends them to sign in, the data is a JSON 403 in the error shape
    anonymous = Client().get("/ops/", allow_redirects=False)
    assert anonymous.status_code == 302 and anonymous.headers["Location"] == "/ops/login/?next=/ops/"
    assert_error(Client().get("/ops/series/"), 403, "permission_denied")
    # a customer's account, with its right password: no session
    client, response = sign_in(user.email, PASSWORD)
    assert response.status_code == 200 and "Only staff accounts" in response.text
    assert "ops_session" not in client.cookies
    # a form posted without its token (another site's form): refused in the error shape
    assert_error(Client().post("/ops/login/", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}), 403)


def test_the_session_is_served_by_every_replica_and_outlives_a_redis_restart(staff):
    compose("up", "-d", "--wait", "--no-recreate", "--scale", "user=3", "user", timeout=300)
    try:
        # when: the session's requests spread over the three replicas of the user service
        served = collections.Counter()

        def all_three_seen():
            response = staff.get("/ops/series/")
            assert response.status_code == 200, response.text[:300]
            served[response.headers["X-Served-By"]] += 1
            return len(served) == 3

        wait_for(all_three_seen, timeout=30, interval=0.1)
        # and: redis-cache restarts (its memory, and so the cached copy of the session, is gone)
        compose("restart", "redis-cache", timeout=120)
        # then: every replica still knows the session (cached_db: the database row is the truth)
        for _ in range(30):
            response = staff.get("/ops/", allow_redirects=False)
            assert response.status_code == 200, (response.status_code, response.headers.get("Location"))
            served[response.headers["X-Served-By"]] += 1
        assert len(served) == 3, served
    finally:
        compose("up", "-d", "--wait", "--no-recreate", "--scale", "user=1", "user", timeout=300)
        compose("up", "-d", "--wait", "redis-cache", timeout=120)


def test_signing_out_ends_the_session(staff):
    page = staff.get("/ops/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    out = staff.post(
        "/ops/logout/", data={"csrfmiddlewaretoken": token}, headers={"Origin": BASE_URL}, allow_redirects=False
    )
    assert out.status_code == 302 and out.headers["Location"] == "/ops/login/"
    assert staff.get("/ops/", allow_redirects=False).status_code == 302


def test_every_chart_of_the_dashboard_has_data_in_a_headless_browser(staff):
    # given: some traffic for the charts of requests, latency and cache (the suite makes more): reads of a
    # product that miss the edge (a new query string each) and so look in the product service's L1 and L2
    product = Client().get("/api/products/?page_size=1").json()["results"][0]
    for _ in range(20):
        assert Client().get(f"/api/products/{product['id']}/?probe={uuid.uuid4().hex}").status_code == 200
    session = staff.cookies["ops_session"]
    # when: a browser opens the dashboard with the staff session
    with Chromium() as browser:
        browser.set_cookie(f"{BASE_URL}/ops/", "ops_session", session)
        browser.open(f"{BASE_URL}/ops/")

        def charts():
            return browser.evaluate(
                "Array.from(document.querySelectorAll('figure.chart')).map(f => "
                "[f.dataset.chart, f.dataset.state || '', Number(f.dataset.points), Number(f.dataset.lines || 0)])"
            )

        # then: every chart is drawn with at least one line and some points (Prometheus keeps 5 s steps;
        # a chart refreshes every 10 s)
        try:
            wait_for(lambda: (c := charts()) and all(s == "ready" and p > 0 and n > 0 for _, s, p, n in c), timeout=90)
        finally:
            browser.screenshot(SCREENSHOT)
        drawn = {name for name, *_ in charts()}
        assert drawn == CHARTS, drawn
        assert browser.evaluate("document.querySelectorAll('canvas').length") >= len(CHARTS)
    print(f"\nscreenshot of /ops/: {SCREENSHOT}")
