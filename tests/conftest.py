"""Cross-service tests: they use the platform only through nginx on 127.0.0.1, as a user would, and
read the shard servers with psql (`docker compose exec`) only to check where data really landed.

Each test user comes from its own client address (an `X-Forwarded-For`), so per-IP rate limits apply
per test user, as per person. nginx believes that header only because `make integration` lists Docker's
host-side networks in NGINX_TRUSTED_PROXIES for the run (a test-only trusted proxy, as a CDN would be);
by default it trusts none, which test_client_address.py proves on a second nginx.
Fixtures are here; the helpers the tests call are in support.py.
"""

from __future__ import annotations

import uuid

import pytest

from support import ADMIN_EMAIL, ADMIN_PASSWORD, Client, User, login, register


@pytest.fixture
def user() -> User:
    return login(register())


@pytest.fixture(scope="session")
def admin() -> User:
    client = Client()
    response = client.post("/api/auth/login/", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    return User(client=client, id="", email=ADMIN_EMAIL, access=response.json()["access"])


@pytest.fixture(scope="session")
def products(admin) -> list[dict]:
    """Four active products made for this test run, with stock that no run can use up."""
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
