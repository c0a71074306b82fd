"""`make bench`: a bounded load benchmark of the running platform, on 127.0.0.1 only.

Prints a table and saves it as JSON and Markdown under bench/results/. Scenarios:

  a  nginx serving a static file
  b  a product GET answered from the edge cache (X-Cache-Status: HIT)
  c  a product GET through nginx and the gateway, not cached at the edge
  d  the same GET straight to the product service from inside the compose network (no nginx, no gateway)
  e  order placement (POST /api/orders/, JWT, REST calls to user and product, outbox)

and the throughput of (c) with product at 1 and at 3 replicas, each replica capped to the same CPU
share. Each run lasts BENCH_SECONDS (10) with BENCH_CONNECTIONS (32) connections. nginx's rate limits
are lifted for the run and put back afterwards.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BASE = f"http://127.0.0.1:{os.environ.get('HTTP_PORT', '8080')}"
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
CPU_SHARE = os.environ.get("BENCH_PRODUCT_CPUS", "0.5")
RESULTS = ROOT / "bench" / "results"
LIFTED_LIMITS = {
    "NGINX_API_RATE": "100000r/s",
    "NGINX_API_BURST": "100000",
    "NGINX_CONN_LIMIT": "60000",
    "NGINX_LOGIN_RATE": "1000r/s",
    "NGINX_LOGIN_BURST": "1000",
}


def log(message: str) -> None:
    print(f"--> {message}", flush=True)


def compose(*args: str, env: dict | None = None) -> str:
    done = subprocess.run(
        ["docker", "compose", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"docker compose {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def parse_wrk(output: str) -> dict:
    """Requests/second, p50 and p99 latency (ms) and errors from `wrk --latency` output."""

    def ms(text: str) -> float:
        value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
    p99 = ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    total = int(re.search(r"(\d+) requests in", output).group(1))
    failed = int(errors.group(1)) if errors else 0
    failed += sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    return {"rps": round(rps, 1), "p50_ms": round(p50, 2), "p99_ms": round(p99, 2), "requests": total, "errors": failed}


def wrk(url: str, *, script: str | None = None, headers: dict | None = None, env: dict | None = None) -> dict:
    args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", "--timeout", "5s"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    if script:
        args += ["-s", str(ROOT / "bench" / script)]
    out = subprocess.run(args + [url], check=True, capture_output=True, text=True, env={**os.environ, **(env or {})})
    return parse_wrk(out.stdout)


def wrk_in_network(url: str) -> dict:
    network = json.loads(compose("config", "--format", "json"))["name"] + "_default"
    args = [
        "docker",
        "run",
        "--rm",
        "--network",
        network,
        "scaling-django/bench",
        "-t2",
        f"-c{CONNECTIONS}",
        f"-d{SECONDS}s",
        "--latency",
        "--timeout",
        "5s",
        url,
    ]
    return parse_wrk(subprocess.run(args, check=True, capture_output=True, text=True).stdout)


def login(email: str, password: str) -> str:
    response = requests.post(f"{BASE}/api/auth/login/", json={"email": email, "password": password}, timeout=10)
    response.raise_for_status()
    return response.json()["access"]


def product_containers() -> list[str]:
    return compose("ps", "-q", "product").split()


def cap_product_cpus(cpus: str) -> None:
    for container in product_containers():
        subprocess.run(["docker", "update", "--cpus", cpus, container], check=True, capture_output=True)


def scale_product(replicas: int) -> None:
    compose("up", "-d", "--wait", "--no-recreate", "--scale", f"product={replicas}", "product")
    time.sleep(3)  # the gateway re-resolves Docker's DNS every 2 s


def setup() -> dict:
    if shutil.which("wrk") is None:
        log("installing wrk (Debian package)")
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    log("building the in-network load generator image")
    subprocess.run(
        [
            "docker",
            "build",
            "-q",
            "-t",
            "scaling-django/bench",
            "--build-arg",
            f"BASE_IMAGE={os.environ.get('BASE_IMAGE', 'scaling-django/base:bookworm')}",  # what `make` builds
            "-f",
            "deploy/images/bench/Dockerfile",
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    log("lifting nginx's rate limits for the run")
    compose("up", "-d", "--wait", "nginx", env=LIFTED_LIMITS)
    env = dict(
        line.split("=", 1)
        for line in (ROOT / ".env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    admin = login(env.get("ADMIN_EMAIL", "admin@example.com"), env.get("ADMIN_PASSWORD", "admin-Passw0rd!"))
    product = requests.post(
        f"{BASE}/api/products/",
        json={
            "sku": f"BENCH-{uuid.uuid4().hex[:8]}",
            "name": "Bench",
            "category": "tools",
            "price": "9.99",
            "stock": 10_000_000,
        },
        headers={"Authorization": f"Bearer {admin}"},
        timeout=10,
    ).json()
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    requests.post(
        f"{BASE}/api/auth/register/", json={"email": email, "password": "bench-Passw0rd-9"}, timeout=10
    ).raise_for_status()
    docs = requests.get(f"{BASE}/api/docs/", timeout=10).text
    static = re.search(r'(/static/[^"]+\.png)', docs).group(1)  # a small file: the favicon
    requests.get(f"{BASE}/api/products/{product['id']}/", timeout=10)  # prime the edge cache
    return {"product": product["id"], "user_token": login(email, "bench-Passw0rd-9"), "static": static}


def main() -> int:
    ctx = setup()
    product_url = f"{BASE}/api/products/{ctx['product']}/"
    results: dict = {"started_at": datetime.now(UTC).isoformat(), "seconds": SECONDS, "connections": CONNECTIONS}
    try:
        log("a: nginx static file")
        results["a_static"] = wrk(BASE + ctx["static"])
        log("b: product GET from the edge cache")
        results["b_edge_hit"] = wrk(product_url)
        log("c: product GET through nginx + gateway, not cached at the edge")
        results["c_through_gateway"] = wrk(product_url, script="unique_query.lua")
        log("d: the same GET straight to the product service, inside the compose network")
        results["d_direct_to_service"] = wrk_in_network(f"http://product:8000/api/products/{ctx['product']}/")
        log("e: order placement")
        results["e_place_order"] = wrk(
            f"{BASE}/api/orders/",
            script="place_order.lua",
            env={"BENCH_TOKEN": ctx["user_token"], "BENCH_PRODUCT": ctx["product"]},
        )
        results["ratio_b_over_a"] = round(results["b_edge_hit"]["rps"] / results["a_static"]["rps"], 3)
        results["ratio_c_over_d"] = round(
            results["c_through_gateway"]["rps"] / results["d_direct_to_service"]["rps"], 3
        )
        for replicas in (1, 3):
            log(f"c with product at {replicas} replica(s), each capped to {CPU_SHARE} CPU")
            scale_product(replicas)
            cap_product_cpus(CPU_SHARE)
            results[f"c_product_x{replicas}_cpus_{CPU_SHARE}"] = wrk(product_url, script="unique_query.lua")
        one = results[f"c_product_x1_cpus_{CPU_SHARE}"]["rps"]
        three = results[f"c_product_x3_cpus_{CPU_SHARE}"]["rps"]
        results["scaling_x3_over_x1"] = round(three / one, 3)
    finally:
        log("restoring: product at 1 replica without a CPU cap, nginx with its configured limits")
        compose("up", "-d", "--wait", "--no-recreate", "--scale", "product=1", "product")
        compose("up", "-d", "--wait", "--force-recreate", "product")
        compose("up", "-d", "--wait", "nginx")
    write(results)
    return 0


def write(results: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    rows = [(name, r) for name, r in results.items() if isinstance(r, dict)]
    lines = [
        f"# Benchmark {stamp}",
        "",
        f"{SECONDS}s per run, {CONNECTIONS} connections, wrk on 127.0.0.1 (d: wrk inside the compose network).",
        "",
        "| scenario | req/s | p50 ms | p99 ms | requests | errors |",
        "|---|---:|---:|---:|---:|---:|",
        *[
            f"| {name} | {r['rps']} | {r['p50_ms']} | {r['p99_ms']} | {r['requests']} | {r['errors']} |"
            for name, r in rows
        ],
        "",
        f"- b/a (edge cache hit vs static file): **{results.get('ratio_b_over_a')}**",
        f"- c/d (through nginx + gateway vs straight to the service): **{results.get('ratio_c_over_d')}**",
        f"- c with 3 product replicas / with 1 (same CPU cap each): **{results.get('scaling_x3_over_x1')}**",
    ]
    markdown = "\n".join(lines) + "\n"
    for name in (f"bench-{stamp}", "latest"):
        (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
        (RESULTS / f"{name}.md").write_text(markdown)
    print(markdown)
    print(f"saved {RESULTS / f'bench-{stamp}.json'} and .md")


if __name__ == "__main__":
    sys.exit(main())
