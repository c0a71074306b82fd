"""Cross-service tests: they use the platform only through nginx on 127.0.0.1, as a user would, and
read the shard servers with psql (`docker compose exec`) only to check where data really landed.

No test relies on a forwarded-client header: every test client is counted on the address it connects
from, and `make integration` sizes nginx's and HAProxy's per-address limits for a whole suite on one
address. The default limits and the default trust are tested on `default_edge` and `default_haproxy`, a
second nginx and a second HAProxy with compose's defaults (test_edge.py, test_client_address.py,
test_haproxy.py). Only two tests send an X-Forwarded-For, both to such a second edge, and both to assert
that it is ignored (a 429 after exactly the limit, whatever address the header names); one sends an
X-Forwarded-Host to HAProxy to assert that it is ignored too (the /ops/ form is still refused).
Fixtures are here; the helpers the tests call are in support.py.
"""

from __future__ import annotations

import socket
import subprocess
import time
import uuid

import pytest
import requests

from support import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Client,
    User,
    autoscaler,
    compose,
    edge_defaults,
    login,
    register,
    sign_in,
    wait_for,
)

# what the autoscaler scales (deploy/autoscaler/policy.yml)
SCALED_SERVICES = ("gateway", "user", "product", "order", "user-worker", "product-worker", "order-worker")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "topology: about the services' own topology (scaling one, stopping one, its replicas, their Swarm and "
        "Kubernetes descriptions), or about the platform around the application that is the same in both modes "
        "(the data tier's failover and backups, HAProxy, the images): not run against the monolith "
        "(`make integration-monolith` deselects them)",
    )


@pytest.fixture(scope="session", autouse=True)
def scaled_services_pinned():
    """The suite scales services itself and loads them hard at times: as a human's `make scale` does, it
    pins the services the autoscaler scales, so it leaves them alone (test_autoscaler.py releases product for
    its own test); they are given back to the autoscaler at the end."""
    running = bool(compose("ps", "-q", "autoscaler").strip())  # not for the offline tests alone (parity, k8s)
    for service in SCALED_SERVICES if running else ():
        autoscaler("pin", service, "1")
    yield
    for service in SCALED_SERVICES if running else ():
        autoscaler("release", service)


@pytest.fixture
def user() -> User:
    return login(register())


class Admin(User):
    """The admin account, logged in again before its access token expires (JWT_ACCESS_MINUTES, 15): the
    session-wide admin outlives a token in a suite that runs longer than that."""

    REFRESH_SECONDS = 10 * 60

    def log_in(self) -> None:
        response = self.client.post("/api/auth/login/", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        assert response.status_code == 200, response.text
        self.access, self.extra["logged_in_at"] = response.json()["access"], time.monotonic()

    @property
    def auth(self) -> dict:
        if time.monotonic() - self.extra.get("logged_in_at", float("-inf")) > self.REFRESH_SECONDS:
            self.log_in()
        return {"Authorization": f"Bearer {self.access}"}


@pytest.fixture(scope="session")
def admin() -> User:
    admin = Admin(client=Client(), id="", email=ADMIN_EMAIL)
    admin.log_in()
    return admin


@pytest.fixture
def staff() -> Client:
    """A browser signed in to the staff pages (/ops/ and every admin) as the admin account."""
    client, response = sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/ops/", response.text[:300]
    assert "ops_session" in client.cookies
    return client


@pytest.fixture
def products(admin) -> list[dict]:
    """Four active products made for this test, with stock that no test can use up.

    Made per test, never shared: the contract run (test_contract.py) fuzzes as an admin with the IDs it
    sees in responses, so a product that existed before it may come out renamed, repriced or inactive.
    """
    made = []
    for n in range(4):
        body = {
            "sku": f"FIX-{uuid.uuid4().hex[:10]}",
            "name": f"Fixture product {n}",
            "category": "kitchen",
            "price": f"{3 + n}.25",
            "stock": 1_000_000,
        }
        response = admin.client.post("/api/products/", json=body, headers=admin.auth)
        assert response.status_code == 201, response.text
        made.append(response.json())
    return made


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _extra_edge(service: str, environment: dict[str, str], *profile: str):
    """Another container of an edge service of this stack, on a free port of 127.0.0.1, with `environment`:
    yields (base URL, container name) once it answers /health/, and removes it afterwards."""
    port, name = _free_port(), f"{service}-defaults-{uuid.uuid4().hex[:8]}"
    env = [part for key, value in environment.items() for part in ("-e", f"{key}={value}")]
    compose(*profile, "run", "-d", "--rm", "--no-deps", "--name", name, *env, "-p", f"127.0.0.1:{port}:80", service)
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return requests.get(base + "/health/", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_for(healthy, timeout=60, interval=0.5)
        yield base, name
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


@pytest.fixture
def default_edge():
    """An extra nginx of this stack with compose's default limits and trust (no proxy): (base URL, name)."""
    yield from _extra_edge("nginx", edge_defaults())


@pytest.fixture
def default_haproxy():
    """An extra HAProxy of this stack with compose's default limits (profile haproxy): (base URL, name)."""
    yield from _extra_edge("haproxy", edge_defaults("haproxy.yml", "HAPROXY_"), "--profile", "haproxy")
