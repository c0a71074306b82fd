"""Who the client is: nginx believes X-Forwarded-For only from proxies in NGINX_TRUSTED_PROXIES, and
by default from none, so a client cannot pick the address its rate limits are counted on.

The rest of the suite runs against an nginx that `make integration` tells to trust Docker's host-side
networks (a documented, test-only trusted proxy: the test client stands in for a CDN). This test starts a
second nginx of the same stack with the default setting and proves that spoofing gets nowhere there.
"""

from __future__ import annotations

import socket
import subprocess
import uuid

import pytest
import requests

from support import ROOT, compose, new_client_ip, wait_for


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def default_edge():
    """An extra nginx of this stack with NGINX_TRUSTED_PROXIES unset (the default): its base URL."""
    port, name = _free_port(), f"edge-defaults-{uuid.uuid4().hex[:8]}"
    compose(
        "run", "-d", "--rm", "--no-deps", "--name", name, "-e", "NGINX_TRUSTED_PROXIES=",
        "-p", f"127.0.0.1:{port}:80", "nginx",
    )  # fmt: skip
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


def test_compose_trusts_no_proxy_unless_told():
    edge = (ROOT / "deploy/compose/edge.yml").read_text()
    assert "NGINX_TRUSTED_PROXIES: ${NGINX_TRUSTED_PROXIES:-}" in edge
    assert '"${NGINX_TRUSTED_PROXIES:=}"' in (ROOT / "deploy/nginx/entrypoint.sh").read_text()


def test_with_the_defaults_a_spoofed_x_forwarded_for_changes_neither_the_rate_limit_key_nor_the_address(
    default_edge,
):
    base, name = default_edge
    trusted = subprocess.run(
        ["docker", "exec", name, "cat", "/etc/nginx/trusted_proxies.conf"], capture_output=True, text=True, check=True
    )
    assert trusted.stdout.strip() == ""
    spoofed = [new_client_ip() for _ in range(10)]
    statuses = []
    for ip in spoofed:
        # a new address and a new e-mail each time: neither nginx's per-address limit (if it believed the
        # header) nor the user service's per-account throttle would answer 429
        body = {"email": f"nobody-{uuid.uuid4().hex[:12]}@example.com", "password": "wrong-password-1"}
        response = requests.post(base + "/api/auth/login/", json=body, headers={"X-Forwarded-For": ip}, timeout=30)
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert response.json()["error"]["code"] == "rate_limited"
    assert set(statuses) <= {401, 429} and statuses.count(429) >= 4, statuses
    # the address nginx logs (and forwards to the gateway as X-Forwarded-For) is the real peer
    log = subprocess.run(["docker", "logs", name], capture_output=True, text=True, check=True).stdout
    login_lines = [line for line in log.splitlines() if "/api/auth/login/" in line]
    assert len(login_lines) == len(spoofed)
    assert not any(line.split()[0] in spoofed for line in login_lines), login_lines[:3]
