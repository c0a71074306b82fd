"""HAProxy, the other edge (profile `haproxy`, deploy/haproxy/), beside nginx on the same stack: health,
spreading over every gateway replica, retries of idempotent requests only, per-client rate limits that
answer JSON, no trust in a client's X-Forwarded-For, errors in the one shape, a stats page for 127.0.0.1.

`make integration` starts it (`make up-haproxy`) with limits sized for the suite; the default limits are
tested on a second HAProxy with compose's defaults (`default_haproxy` in conftest.py).
"""

from __future__ import annotations

import collections
import csv
import io
import re
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from support import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    BASE_URL,
    Client,
    assert_error,
    assert_order_service_down_is_a_json_503,
    compose,
    edge_defaults,
    health,
    login,
    new_client_ip,
    register,
    setting,
    sign_in,
    wait_for,
)

pytestmark = pytest.mark.topology  # the other edge, the same in both modes: run once

HAPROXY_URL = f"http://127.0.0.1:{setting('HAPROXY_PORT', '8081')}"
STATS_URL = f"http://127.0.0.1:{setting('HAPROXY_STATS_PORT', '8404')}/stats"
# HAProxy's log line (deploy/haproxy/haproxy.cfg, log-format): client "request" status ... rid= up= retries=
LOG_LINE = re.compile(
    r'^(?P<client>\S+) "(?P<request>[^"]*)" (?P<status>\d+) .* rid=(?P<rid>\S+) up=(?P<up>\S+) '
    r"retries=\+?(?P<retries>\d+)$"
)


def edge() -> Client:
    return Client(HAPROXY_URL)


def haproxy_container() -> str:
    return compose("--profile", "haproxy", "ps", "-q", "haproxy").strip()


@pytest.fixture(scope="module", autouse=True)
def haproxy_running():
    """The suite's HAProxy answers (`make integration` starts it: make up-haproxy); a test fails otherwise."""
    assert haproxy_container(), "HAProxy is not running: `make up-haproxy` (make integration starts it)"
    wait_for(lambda: edge().get("/health/").status_code == 200, timeout=60, interval=1)


def stats() -> dict[str, dict[str, str]]:
    """The stats page as CSV: one row per proxy and server, keyed "proxy/server"."""
    response = requests.get(STATS_URL + ";csv", timeout=5)
    assert response.status_code == 200, response.text[:300]
    rows = csv.DictReader(io.StringIO(response.text.lstrip("# ")))
    return {f"{row['pxname']}/{row['svname']}": row for row in rows}


def gateways_up() -> dict[str, str]:
    """Gateway servers HAProxy sends to (UP): name -> address, as its stats page says."""
    return {
        key: row["addr"].rsplit(":", 1)[0]
        for key, row in stats().items()
        if key.startswith("gateway/gw") and row["status"].startswith("UP")
    }


def replica_addresses() -> dict[str, str]:
    """Each gateway container's address on the edge network, from Docker: container id -> address."""
    ids = compose("ps", "-q", "gateway").split()
    found = {}
    for container in ids:
        networks = subprocess.run(
            [
                "docker",
                "inspect",
                "-f",
                "{{range $n, $v := .NetworkSettings.Networks}}{{$n}}={{$v.IPAddress}} {{end}}",
                container,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        found[container] = next(value.split("=")[1] for value in networks if value.split("=")[0].endswith("_edge"))
    return found


def log_lines(container: str, since: str) -> dict[str, re.Match]:
    """HAProxy's log lines since `since` (docker logs --since), by request ID."""
    out = subprocess.run(["docker", "logs", "--since", since, container], capture_output=True, text=True, check=True)
    lines = (LOG_LINE.match(line) for line in (out.stdout + out.stderr).splitlines())
    return {line["rid"]: line for line in lines if line}


def scale_gateway(replicas: int) -> None:
    compose("up", "-d", "--wait", "--no-recreate", "--scale", f"gateway={replicas}", "gateway", timeout=300)
    # HAProxy re-reads the name every 2 s and checks each replica every 2 s
    wait_for(lambda: set(gateways_up().values()) == set(replica_addresses().values()), timeout=30, interval=1)


@pytest.fixture
def two_gateways():
    scale_gateway(2)
    try:
        yield replica_addresses()
    finally:
        scale_gateway(1)


def test_health_through_haproxy_with_the_request_id_kept_or_made():
    response = edge().get("/health/", headers={"X-Request-ID": "haproxy-health-1"})
    assert response.status_code == 200 and response.json()["status"] == "healthy"
    assert response.headers["X-Request-ID"] == "haproxy-health-1"
    made = edge().get("/health/")
    assert re.fullmatch(r"[0-9a-f-]{36}", made.headers["X-Request-ID"])
    assert "Server" not in made.headers  # nothing about what runs behind it
    # a request ID the services would refuse (shared/http/middleware.py) is replaced at the edge already
    assert edge().get("/health/", headers={"X-Request-ID": "no spaces!"}).headers["X-Request-ID"] != "no spaces!"


def test_every_gateway_replica_gets_traffic_and_scaling_back_loses_nothing(two_gateways):
    # given: two gateway replicas, both found through Docker's DNS and both UP (two_gateways waited for it)
    up = gateways_up()
    assert sorted(up.values()) == sorted(two_gateways.values())
    before = {key: int(row["hrsp_2xx"]) for key, row in stats().items() if key in up}
    # when
    statuses = collections.Counter(edge().get(f"/api/products/?page_size=1&n={n}").status_code for n in range(100))
    # then: every answer is a 200 and HAProxy's own count per server shows both replicas answering
    assert statuses == {200: 100}
    after = {key: int(row["hrsp_2xx"]) for key, row in stats().items() if key in up}
    served = {key: after[key] - before[key] for key in up}
    assert sum(served.values()) == 100 and min(served.values()) >= 40, served
    # and scaling back to one replica (two_gateways's teardown) loses no request
    scale_gateway(1)
    assert len(gateways_up()) == 1
    statuses = collections.Counter(edge().get(f"/api/products/?page_size=1&m={n}").status_code for n in range(50))
    assert statuses == {200: 50}


def test_a_stalled_replica_costs_a_get_one_retry_and_a_post_is_never_retried(two_gateways, products):
    # given: a user who logs in through HAProxy, and one of the two gateway replicas frozen (docker pause:
    # it accepts connections but never answers)
    user = login(register(edge()))
    container = next(iter(two_gateways))
    haproxy, since = haproxy_container(), f"{int(time.time()) - 1}"
    order = {"items": [{"product_id": products[0]["id"], "quantity": 1}]}
    calls = [
        ("get", "/api/products/?page_size=1", None),
        ("get", "/api/products/?page_size=2", None),
        ("post", "/api/orders/", order),
        ("post", "/api/orders/", order),
    ]
    subprocess.run(["docker", "pause", container], check=True)
    try:
        # when: two GETs, then two POSTs, started one after another (round robin: of each pair, one
        # goes to the frozen replica), each with its own request ID
        with ThreadPoolExecutor(4) as pool:
            futures = []
            for n, (method, path, body) in enumerate(calls):
                rid = f"stall-{n}-{uuid.uuid4().hex[:8]}"
                headers = {**user.auth, "X-Request-ID": rid}
                futures.append(
                    (rid, method, pool.submit(getattr(user.client, method), path, json=body, headers=headers))
                )
                time.sleep(0.2)
            answers = [(rid, method, future.result()) for rid, method, future in futures]
    finally:
        subprocess.run(["docker", "unpause", container], check=True)
        # Docker calls a paused container unhealthy until its next check passes: the fixture's
        # `compose up --wait` would fail on it
        wait_for(lambda: health(container) == "healthy", timeout=120, interval=2)
    # then: both GETs answer 200, one of them after a retry on the other replica (HAProxy's log says so)

    def all_logged() -> dict[str, re.Match] | None:
        lines = log_lines(haproxy, since)
        return lines if all(rid in lines for rid, _, _ in answers) else None

    logged = wait_for(all_logged, timeout=10)
    gets = [(logged[rid], response) for rid, method, response in answers if method == "get"]
    assert [response.status_code for _, response in gets] == [200, 200]
    assert sorted(int(line["retries"]) for line, _ in gets) == [0, 1], [line.group(0) for line, _ in gets]
    # and of the POSTs one is placed by the live replica and the one sent to the frozen replica is a JSON 504
    # after HAProxy's 15 s, never sent again
    posts = [(logged[rid], response) for rid, method, response in answers if method == "post"]
    assert sorted(response.status_code for _, response in posts) == [202, 504]
    for line, response in posts:
        assert int(line["retries"]) == 0, line.group(0)
        if response.status_code == 504:
            assert_error(response, 504, "upstream_timeout")


def test_rapid_logins_from_one_address_get_json_429_with_retry_after_and_browsing_is_unaffected(default_haproxy):
    base, _ = default_haproxy  # HAProxy with compose's default limits (the suite's own runs with larger ones)
    limit, period = (
        edge_defaults("haproxy.yml", "HAPROXY_")[name] for name in ("HAPROXY_LOGIN_LIMIT", "HAPROXY_LOGIN_PERIOD")
    )
    client = requests.Session()
    statuses = []
    for n in range(int(limit) + 5):
        # a new e-mail each time: the user service's per-account throttle never answers, only the edge
        body = {"email": f"nobody-{uuid.uuid4().hex[:12]}@example.com", "password": "wrong-password-1"}
        statuses.append(client.post(base + "/api/auth/login/", json=body, timeout=30).status_code)
        assert client.get(f"{base}/api/products/?page_size=5&n={n}", timeout=30).status_code == 200
    assert statuses == [401] * int(limit) + [429] * 5, statuses
    body = {"email": "nobody@example.com", "password": "wrong-password-1"}
    refused = client.post(base + "/api/auth/login/", json=body, timeout=30)
    assert_error(refused, 429, "rate_limited")
    assert refused.headers["Retry-After"] == period
    assert refused.headers["X-Request-ID"]


def test_a_spoofed_x_forwarded_for_changes_neither_the_rate_limit_key_nor_the_address(default_haproxy):
    base, name = default_haproxy
    limit = int(edge_defaults("haproxy.yml", "HAPROXY_")["HAPROXY_LOGIN_LIMIT"])
    spoofed = [new_client_ip() for _ in range(limit + 5)]
    statuses = []
    for ip in spoofed:
        # a new address and a new e-mail each time: only a limit counted on the real peer can answer 429
        body = {"email": f"nobody-{uuid.uuid4().hex[:12]}@example.com", "password": "wrong-password-1"}
        response = requests.post(base + "/api/auth/login/", json=body, headers={"X-Forwarded-For": ip}, timeout=30)
        statuses.append(response.status_code)
    assert statuses == [401] * limit + [429] * 5, statuses
    # the address HAProxy logs (and sends to the gateway as X-Forwarded-For, in place of the client's) is the peer
    lines = [line for line in log_lines(name, "10m").values() if "/api/auth/login/" in line["request"]]
    assert len(lines) == len(spoofed)
    assert not {line["client"] for line in lines} & set(spoofed), lines[0].group(0)
    config = subprocess.run(
        ["docker", "exec", name, "cat", "/etc/haproxy/haproxy.cfg"], capture_output=True, text=True, check=True
    ).stdout
    # and the gateway gets the peer alone: the client's header is dropped, then `option forwardfor` adds the
    # peer's (HAProxy adds it as the request leaves for the backend, after every http-request rule)
    frontend = config.split("\nfrontend edge\n", 1)[1].split("\nbackend ", 1)[0]
    rules = [line.strip() for line in frontend.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert {"http-request del-header X-Forwarded-For", "http-request del-header Forwarded", "option forwardfor"} <= set(
        rules
    )


def test_unknown_paths_internal_endpoints_and_html_from_behind_are_json():
    assert_error(edge().get("/nothing-here"), 404, "not_found")
    assert_error(edge().get("/metrics"), 404, "not_found")
    assert_error(edge().get("/api/nothing-here/"), 404, "not_found")  # the gateway's own
    assert_error(edge().post("/static/x.js"), 404, "not_found")
    assert_error(edge().request("TRACE", "/api/products/"), 405, "method_not_allowed")
    assert_error(edge().get("/api/products/?q=" + "a" * 5000), 414, "uri_too_long")
    assert_error(
        edge().post("/api/auth/login/", data=b"x" * 1_100_000, headers={"Content-Type": "application/json"}),
        413,
        "payload_too_large",
    )
    # nginx answers a directory of static files with its own HTML 403: HAProxy passes on the JSON one
    assert_error(edge().get("/static/"), 403, "permission_denied")
    # the Swagger UI's files come through (nginx serves them)
    docs = edge().get("/api/docs/")
    assert docs.status_code == 200
    asset = re.search(r'/static/[^"]+\.css', docs.text)[0]
    assert edge().get(asset).status_code == 200


def test_a_stopped_service_and_a_stopped_gateway_are_json_503s():
    user = login(register(edge()))
    assert_order_service_down_is_a_json_503(user)
    # no gateway at all: HAProxy's own answer, in the one shape
    compose("stop", "gateway")
    try:
        wait_for(lambda: not gateways_up(), timeout=15, interval=0.5)
        error = assert_error(edge().get("/health/"), 503, "upstream_unavailable")
        assert error["message"]
    finally:
        compose("start", "gateway")
    wait_for(lambda: edge().get("/health/").status_code == 200, timeout=60, interval=1)
    wait_for(lambda: Client().get("/health/").status_code == 200, timeout=60, interval=1)  # nginx too


def test_the_stats_page_answers_on_this_machine_only():
    # published on 127.0.0.1 only
    published = compose("--profile", "haproxy", "port", "haproxy", "8404").strip()
    assert published.startswith("127.0.0.1:"), published
    page = requests.get(STATS_URL, timeout=5)
    assert page.status_code == 200 and "Statistics Report" in page.text
    assert {"edge/FRONTEND", "gateway/BACKEND", "limit_login/BACKEND"} <= set(stats())
    # another container of the edge network is refused, in JSON
    other = subprocess.run(
        [
            "docker",
            "exec",
            compose("ps", "-q", "nginx").strip(),
            "curl",
            "-s",
            "-w",
            "\n%{http_code}",
            "http://haproxy:8404/stats",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    body, status = other.rsplit("\n", 1)
    assert status == "403" and '"permission_denied"' in body


def test_staff_sign_in_through_haproxy_and_a_form_from_another_origin_is_refused():
    # the staff pages through HAProxy: the session is given, and the page answers with it
    client, response = sign_in(ADMIN_EMAIL, ADMIN_PASSWORD, HAPROXY_URL)
    assert response.status_code == 302 and response.headers["Location"] == "/ops/", response.text[:300]
    page = client.get("/ops/", allow_redirects=False)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    # the Origin is checked against the host the client asked HAProxy for (X-Forwarded-Host from Host):
    # the same form posted with nginx's origin is another site's, refused in the error shape
    form = Client(HAPROXY_URL)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.get("/ops/login/").text).group(1)
    refused = form.post(
        "/ops/login/",
        data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Origin": BASE_URL},
        allow_redirects=False,
    )
    assert_error(refused, 403)
    # and a client's own X-Forwarded-Host does not make another origin its own
    spoofed = form.post(
        "/ops/login/",
        data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Origin": BASE_URL, "X-Forwarded-Host": BASE_URL.split("//", 1)[1]},
        allow_redirects=False,
    )
    assert_error(spoofed, 403)
