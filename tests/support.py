"""Helpers of the cross-service tests (fixtures are in conftest.py): a client of the public API through
nginx with its own client address, test users, psql on the shard servers, polling, the error shape.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

BASE_URL = os.environ.get("BASE_URL", f"http://127.0.0.1:{os.environ.get('HTTP_PORT', '8080')}")
ROOT = Path(__file__).resolve().parent.parent


def dotenv() -> dict[str, str]:
    """The stack's .env (where `make env` wrote the secrets), as compose reads it: NAME=value lines."""
    path = ROOT / ".env"
    lines = path.read_text().splitlines() if path.exists() else []
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.lstrip().startswith("#"))
    return {name.strip(): value.strip() for name, value in pairs}


def setting(name: str, default: str) -> str:
    """A value of the stack's configuration: the environment, else .env, else compose's default."""
    return os.environ.get(name) or dotenv().get(name) or default


ADMIN_EMAIL = setting("ADMIN_EMAIL", "admin@example.com")
ADMIN_PASSWORD = setting("ADMIN_PASSWORD", "admin-Passw0rd!")
PASSWORD = "correct-horse-battery-9"
SHARD_BITS_OFFSET = 12  # see shared/db/ids.py
LOGICAL_SHARDS = 16
_addresses = itertools.count(1)


def new_client_ip() -> str:
    """A fresh address to put in a spoofed X-Forwarded-For (test_client_address.py for nginx, test_haproxy.py
    for HAProxy): the edge must ignore it."""
    n = next(_addresses) + os.getpid() % 200 * 256
    return f"198.18.{n // 256 % 256}.{n % 256}"


def edge_defaults(compose_file: str = "edge.yml", prefix: str = "NGINX_") -> dict[str, str]:
    """An edge's limits and trusted proxies as compose sets them when nothing overrides them: nginx's
    (edge.yml, NGINX_*) or HAProxy's (haproxy.yml, HAPROXY_*). nginx's purge token is a secret, not a
    limit: the stack's own is kept."""
    edge = (ROOT / "deploy/compose" / compose_file).read_text()
    found = dict(re.findall(rf"^\s+({prefix}\w+): \$\{{\w+:-([^}}]*)\}}", edge, re.M))
    return {name: value for name, value in found.items() if name != "NGINX_PURGE_TOKEN"}


class Client(requests.Session):
    """A browser-like client of the public API: cookies kept, JSON by default.

    It sends no X-Forwarded-For: the edge (nginx, or HAProxy for test_haproxy.py) counts every test client
    on the address it really connects from (`make integration` sizes the per-address limits for a whole test
    suite on one address)."""

    def __init__(self, base_url: str = BASE_URL):
        super().__init__()
        self.base_url = base_url  # nginx; HAProxy's address for tests/test_haproxy.py

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", 30)
        return super().request(method, url if url.startswith("http") else self.base_url + url, *args, **kwargs)


@dataclass
class User:
    client: Client
    id: str
    email: str
    access: str = ""
    refresh: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.access}"}


def register(client: Client | None = None, *, email: str | None = None, password: str = PASSWORD) -> User:
    client = client or Client()
    email = email or f"user-{uuid.uuid4().hex[:12]}@example.com"
    response = client.post("/api/auth/register/", json={"email": email, "password": password, "name": "Test"})
    assert response.status_code == 201, response.text
    return User(client=client, id=response.json()["id"], email=email)


def login(user: User, password: str = PASSWORD) -> User:
    response = user.client.post("/api/auth/login/", json={"email": user.email, "password": password})
    assert response.status_code == 200, response.text
    user.access, user.refresh = response.json()["access"], response.json()["refresh"]
    return user


def sign_in(email: str, password: str, base_url: str = BASE_URL) -> tuple[Client, requests.Response]:
    """The staff sign-in form (/ops/login/) as a browser sends it, through the edge at `base_url`: its CSRF
    cookie and token, and the page's Origin. Returns the client (with the session, if one was given) and
    the answer to the POST."""
    client = Client(base_url)
    form = client.get("/ops/login/")
    assert form.status_code == 200 and "text/html" in form.headers["Content-Type"], form.text[:300]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    response = client.post(
        "/ops/login/",
        data={"email": email, "password": password, "csrfmiddlewaretoken": token, "next": "/ops/"},
        headers={"Origin": base_url, "Referer": f"{base_url}/ops/login/"},
        allow_redirects=False,
    )
    return client, response


# `make integration-monolith` runs the API suite against the monolith (MODE=monolith): PLATFORM_MODE=monolith
PLATFORM_MODE = os.environ.get("PLATFORM_MODE", "services")
DOMAINS = ("user", "product", "order")


def web_of(domain: str) -> str:
    """The compose service whose web process answers `domain`'s API (user, product, order)."""
    return "monolith" if PLATFORM_MODE == "monolith" else domain


def process_of(domain: str, *, worker: bool = False) -> list[str]:
    """`docker compose exec` arguments that run a command in the process of `domain` (user, product, order),
    its web process or its Celery worker's: the service's container, or the monolith's with DOMAIN naming
    the domain (monolith/manage.py)."""
    service = worker_of(domain) if worker else web_of(domain)
    return ["-e", f"DOMAIN={domain}", service] if PLATFORM_MODE == "monolith" else [service]


def compose(*args: str, timeout: int = 120) -> str:
    result = subprocess.run(
        ["docker", "compose", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=True
    )
    return result.stdout


def hostnames(service: str) -> set[str]:
    """The hostnames of a compose service's running containers: what their answers carry in X-Served-By."""
    count = len(compose("ps", "-q", service).split())
    return {compose("exec", "-T", "--index", str(n), service, "hostname").strip() for n in range(1, count + 1)}


def autoscaler(*args: str) -> str:
    """`python3 -m autoscaler ARGS` in the autoscaler container (pin, release)."""
    return compose("exec", "-T", "autoscaler", "python3", "-m", "autoscaler", *args)


def worker_of(domain: str) -> str:
    """The compose service of the Celery worker that handles `domain`'s events."""
    return "monolith-worker" if PLATFORM_MODE == "monolith" else f"{domain}-worker"


def send_event(domain: str, envelope: dict, times: int) -> None:
    """Put `envelope` on the queues of its consumers `times` times, from inside a process of `domain` (as a
    relay would)."""
    code = (
        "import json, sys; from shared.events.outbox import send; "
        f"envelope = json.loads({json.dumps(json.dumps(envelope))}); "
        f"[send(envelope) for _ in range({times})]"
    )
    compose("exec", "-T", *process_of(domain), "python", "manage.py", "shell", "-c", code)


def event_envelope(event_type: str, payload: dict) -> dict:
    """A new event of `event_type` in the envelope shared/events reads."""
    return {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "version": 1,
        "occurred_at": "2026-01-01T00:00:00+00:00",
        "producer": "test",
        "request_id": "test",
        "payload": payload,
    }


def psql(container: str, database: str, sql: str) -> list[list[str]]:
    """Rows of `sql` run in the shard container as postgres (fields split on '|')."""
    out = compose("exec", "-T", container, "psql", "-U", "postgres", "-d", database, "-qAt", "-c", sql)
    return [line.split("|") for line in out.splitlines() if line]


def patroni(server: str) -> dict[str, dict]:
    """Patroni's view of shard server `server` (e.g. order-db-0), asked of whichever of its two members
    answers: member name -> its row of `patronictl list` (Role: Leader, Sync Standby or Replica; State;
    Lag in MB). Which member leads is Patroni's to say: after a failover `-replica` may be the leader."""
    for member in (server, f"{server}-replica"):
        try:
            out = compose(
                "exec", "-T", member, "patronictl", "-c", "/etc/patroni.yml", "list", "-f", "json", timeout=10
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):  # stopped, or cut off from etcd
            continue
        return {row["Member"]: row for row in json.loads(out)}
    raise AssertionError(f"no member of {server} answers")


def leader_of(server: str) -> str | None:
    """The member of `server` that leads (takes writes), or None while none does."""
    return next((name for name, row in patroni(server).items() if row["Role"] == "Leader"), None)


def standby_of(server: str) -> str | None:
    """The member of `server` that runs as its standby, or None while none does."""
    rows = patroni(server).items()
    return next((name for name, row in rows if row["Role"] != "Leader" and row["State"] == "running"), None)


def lead_with_first_member(*servers: str) -> None:
    """Give the lead of each server back to its first member (`<server>`, the one `make up` starts as
    leader) by a Patroni switchover where a failover moved it, and wait until the other member streams
    again: a test that moved a leader leaves the stack as it found it."""

    def waited(server: str, condition, what: str) -> None:
        try:
            wait_for(condition, timeout=120, interval=2)
        except AssertionError:
            raise AssertionError(f"{server}: {what} not within 120 s; Patroni says {patroni(server)}") from None

    def switched(server: str) -> bool:
        # Patroni promotes only the synchronous standby, caught up; patronictl says whether it did (its
        # exit status does not)
        if patroni(server)[server]["Role"] != "Sync Standby":
            return False
        out = compose(
            "exec", "-T", f"{server}-replica", "patronictl", "-c", "/etc/patroni.yml", "switchover", server,
            "--candidate", server, "--force", timeout=90,
        )  # fmt: skip
        return "Successfully switched over" in out

    for server in servers:
        if leader_of(server) != server:
            waited(server, lambda s=server: switched(s), "a switchover to the first member")
        waited(server, lambda s=server: leader_of(s) == s and standby_of(s) == f"{s}-replica", "back as it was")


def server_of(object_id: str | int, logical_shards: int = LOGICAL_SHARDS, servers: int = 2) -> int:
    """Which shard server (0 or 1) holds an object, from the shard inside its ID and the default map."""
    shard = (int(object_id) >> SHARD_BITS_OFFSET) & 1023
    return shard // (logical_shards // servers)


def wait_for(predicate, *, timeout: float = 10.0, interval: float = 0.2):
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def health(container: str) -> str:
    """Docker's health status of a container: starting, healthy or unhealthy."""
    inspect = ["docker", "inspect", "--format", "{{.State.Health.Status}}", container]
    return subprocess.run(inspect, check=True, capture_output=True, text=True).stdout.strip()


@contextmanager
def paused(*services: str):
    """The services' containers frozen (`docker compose pause`: they accept connections and never answer)
    for the block. Afterwards unpaused, and waited for until Docker calls them healthy again: Docker
    marks a paused container unhealthy at once, until its next check passes (up to an interval later),
    and a `docker compose up --wait` in a later test would fail on it meanwhile."""
    compose("pause", *services)
    try:
        yield
    finally:
        compose("unpause", *services)
        containers = [container for service in services for container in compose("ps", "-q", service).split()]
        wait_for(lambda: all(health(container) == "healthy" for container in containers), timeout=120, interval=2)


def assert_error(response: requests.Response, status: int, code: str | None = None) -> dict:
    """The response is `status` with the one JSON error shape (and `code`, if given)."""
    assert response.status_code == status, f"{response.status_code} {response.text[:300]}"
    assert response.headers["Content-Type"].startswith("application/json"), response.headers["Content-Type"]
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    if code:
        assert body["error"]["code"] == code, body
    return body["error"]


def assert_order_service_down_is_a_json_503(user: User) -> None:
    """With the order service stopped, the gateway answers its paths with a JSON 503 (through whichever
    edge `user`'s client uses); the service is started again and answers before this returns."""
    compose("stop", "order")
    try:
        assert_error(user.client.get("/api/orders/", headers=user.auth), 503, "upstream_unavailable")
    finally:
        compose("start", "order")
    wait_for(lambda: user.client.get("/api/orders/", headers=user.auth).status_code == 200, timeout=60, interval=1)
