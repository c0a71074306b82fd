"""Who the client is: nginx believes X-Forwarded-For only from proxies in NGINX_TRUSTED_PROXIES, and
by default from none, so a client cannot pick the address its rate limits are counted on.

Only this test and its HAProxy twin (tests/test_haproxy.py) send an X-Forwarded-For: each spoofs the
header on a second edge of the same stack started with the compose defaults (`default_edge`,
`default_haproxy` in conftest.py) and proves that it gets nowhere.
"""

from __future__ import annotations

import subprocess
import uuid

import requests

from support import ROOT, new_client_ip, wait_for


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

    # the address nginx logs (and forwards to the gateway as X-Forwarded-For) is the real peer; nginx
    # writes its access log at least every second (nginx.conf: flush=1s)
    def login_lines() -> list[str]:
        log = subprocess.run(["docker", "logs", name], capture_output=True, text=True, check=True).stdout
        return [line for line in log.splitlines() if "/api/auth/login/" in line]

    wait_for(lambda: len(login_lines()) >= len(spoofed), timeout=10, interval=0.5)
    lines = login_lines()
    assert len(lines) == len(spoofed)
    assert not any(line.split()[0] in spoofed for line in lines), lines[:3]
