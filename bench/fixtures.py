"""What the benchmark prepares: its tools, lifted rate limits, and data made for the run.

The data is the benchmark's own (a product with plenty of stock, a user), made through the public
API like any client would, so runs never use up seeded data.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests
import stack
from load import BENCH_IMAGE

BASE = f"http://127.0.0.1:{os.environ.get('HTTP_PORT', '8080')}"
# nginx's per-client limits would turn a load test into a 429 test: lifted for the run only
LIFTED_LIMITS = {
    "NGINX_API_RATE": "100000r/s",
    "NGINX_API_BURST": "100000",
    "NGINX_CONN_LIMIT": "60000",
    "NGINX_LOGIN_RATE": "1000r/s",
    "NGINX_LOGIN_BURST": "1000",
}
PASSWORD = "bench-Passw0rd-9"


@dataclass
class Fixtures:
    static_path: str
    product_id: str
    user_id: str
    user_token: str
    user_email: str


def log(message: str) -> None:
    print(f"--> {message}", flush=True)


def tools() -> None:
    if shutil.which("wrk") is None:
        log("installing wrk (Debian package)")
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    log("building the in-network load generator image")
    base = os.environ.get("BASE_IMAGE", "scaling-django/base:bookworm")  # what `make` builds
    subprocess.run(
        ["docker", "build", "-q", "-t", BENCH_IMAGE, "--build-arg", f"BASE_IMAGE={base}"]
        + ["-f", "deploy/images/bench/Dockerfile", "."],
        cwd=stack.ROOT,
        check=True,
        capture_output=True,
    )


def lift_limits() -> None:
    # nginx alone (--no-deps): starting its dependencies would start the services the monolith replaces
    log("lifting nginx's rate limits for the run")
    stack.compose("up", "-d", "--wait", "--no-deps", "nginx", env=LIFTED_LIMITS)


def restore_limits() -> None:
    stack.compose("up", "-d", "--wait", "--no-deps", "nginx")


# what the autoscaler scales (deploy/autoscaler/policy.yml)
SCALED = ("gateway", "user", "product", "order", "user-worker", "product-worker", "order-worker")


def hold_replicas() -> None:
    """Pin what the autoscaler scales, as `make scale` does, so that it does not add replicas under the
    benchmark's load (a run measures the stack it was given; bench-sizes once saw two gateways)."""
    log("pinning the scaled services for the run (the autoscaler leaves them alone)")
    for service in SCALED:
        replicas = len(stack.compose("ps", "-q", service).split()) or 1
        stack.compose("exec", "-T", "autoscaler", "python3", "-m", "autoscaler", "pin", service, str(replicas))


def release_replicas() -> None:
    for service in SCALED:
        stack.compose("exec", "-T", "autoscaler", "python3", "-m", "autoscaler", "release", service)


@contextmanager
def held_for_the_run() -> Iterator[None]:
    """nginx's limits lifted and the scaled services pinned while the block runs, given back after it
    (whatever the block restores of its own, it does inside)."""
    lift_limits()
    hold_replicas()
    try:
        yield
    finally:
        restore_limits()
        release_replicas()


def dotenv() -> dict[str, str]:
    path = stack.ROOT / ".env"
    lines = path.read_text().splitlines() if path.exists() else []
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def login(email: str, password: str) -> str:
    response = requests.post(f"{BASE}/api/auth/login/", json={"email": email, "password": password}, timeout=10)
    response.raise_for_status()
    return response.json()["access"]


def admin_login() -> str:
    env = dotenv()
    return login(env.get("ADMIN_EMAIL", "admin@example.com"), env.get("ADMIN_PASSWORD", "admin-Passw0rd!"))


def new_catalog_generation(product_id: str) -> None:
    """Change the bench's product through the API, as the admin: the product service then starts a new
    catalog cache generation, and no page or count cached before is read again."""
    response = requests.patch(
        f"{BASE}/api/products/{product_id}/",
        json={"description": f"bench {uuid.uuid4().hex[:8]}"},
        headers={"Authorization": f"Bearer {admin_login()}"},
        timeout=10,
    )
    response.raise_for_status()


def make() -> Fixtures:
    admin = admin_login()
    product = requests.post(
        f"{BASE}/api/products/",
        json={"sku": f"BENCH-{uuid.uuid4().hex[:8]}", "name": "Bench", "category": "tools", "price": "9.99"}
        | {"stock": 10_000_000},
        headers={"Authorization": f"Bearer {admin}"},
        timeout=10,
    )
    product.raise_for_status()
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    requests.post(
        f"{BASE}/api/auth/register/", json={"email": email, "password": PASSWORD}, timeout=10
    ).raise_for_status()
    token = login(email, PASSWORD)
    me = requests.get(f"{BASE}/api/users/me/", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    docs = requests.get(f"{BASE}/api/docs/", timeout=10).text
    static = re.search(r'(/static/[^"]+\.png)', docs).group(1)  # a small file: the favicon
    return Fixtures(
        static_path=static, product_id=product.json()["id"], user_id=me["id"], user_token=token, user_email=email
    )
