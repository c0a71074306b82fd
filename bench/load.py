"""The load generators: wrk (closed loop, for throughput) and an open-loop generator (for latency).

wrk runs on the host against nginx on 127.0.0.1, or in a container on the stack's application
network against a service directly; both run `probe.lua`, which counts what answered (status,
X-Cache-Status, X-Served-By). `open_loop` sends requests at a fixed arrival rate and measures each
from the moment it was due, not from when it was sent, so a slow server cannot make the generator
wait and hide its own slowness (no coordinated omission).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import urllib3

ROOT = Path(__file__).resolve().parent.parent
BENCH_IMAGE = "scaling-django/bench"


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(output: str) -> dict:
    """Throughput, latency percentiles, socket errors and probe.lua's counts from `wrk --latency`."""
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    probe = json.loads(re.search(r"^BENCH_JSON (.*)$", output, re.M).group(1))
    return {
        "rps": round(float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), 1),
        "p50_ms": round(_ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1)), 2),
        "p99_ms": round(_ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1)), 2),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "socket_errors": sum(int(n) for n in socket_errors.groups()) if socket_errors else 0,
        **probe,
    }


def _wrk_args(url: str, *, seconds: int, connections: int, script: str) -> list[str]:
    return [
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "5s",
        "-s",
        script,
        url,
    ]


def wrk(url: str, *, seconds: int, connections: int, env: dict | None = None) -> dict:
    """wrk on the host (through nginx on 127.0.0.1)."""
    args = ["wrk", *_wrk_args(url, seconds=seconds, connections=connections, script=str(ROOT / "bench/probe.lua"))]
    done = subprocess.run(args, check=True, capture_output=True, text=True, env={**os.environ, **(env or {})})
    return parse_wrk(done.stdout)


def wrk_in_network(url: str, *, network: str, seconds: int, connections: int, env: dict | None = None) -> dict:
    """wrk in a container on `network`, against a service by its compose name (no nginx on the path)."""
    flags = [part for name, value in (env or {}).items() for part in ("-e", f"{name}={value}")]
    args = ["docker", "run", "--rm", "--network", network, *flags, BENCH_IMAGE]
    args += _wrk_args(url, seconds=seconds, connections=connections, script="/bench/probe.lua")
    return parse_wrk(subprocess.run(args, check=True, capture_output=True, text=True).stdout)


def _percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return round(sorted_values[index], 2)


def open_loop(make_request, *, rate: float, seconds: int, workers: int = 64) -> dict:
    """Send `rate` requests per second for `seconds`; latency of each from the moment it was due.

    `make_request(pool, n)` sends request number `n` and returns the urllib3 response. A request
    still waiting for a free worker is late, and its wait counts in its latency.
    """
    pool = urllib3.PoolManager(maxsize=workers, retries=False, timeout=urllib3.Timeout(connect=2, read=10))
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    cache: dict[str, int] = {}
    body_bytes = [0]
    lock = threading.Lock()

    def fire(n: int, due: float) -> None:
        size = 0
        try:
            response = make_request(pool, n)
            status, verdict = str(response.status), response.headers.get("X-Cache-Status", "none")
            size = len(response.data)
        except Exception as exc:  # noqa: BLE001 - a failed request is a counted error, not a crash
            status, verdict = type(exc).__name__, "none"
        elapsed = (time.perf_counter() - due) * 1000
        with lock:
            latencies.append(elapsed)
            statuses[status] = statuses.get(status, 0) + 1
            cache[verdict] = cache.get(verdict, 0) + 1
            body_bytes[0] += size

    total = int(rate * seconds)
    start = time.perf_counter()
    worst_dispatch_lag = 0.0
    with ThreadPoolExecutor(max_workers=workers) as executor:
        for n in range(total):
            due = start + n / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            worst_dispatch_lag = max(worst_dispatch_lag, time.perf_counter() - due)
            executor.submit(fire, n, due)
    latencies.sort()
    return {
        "rate": rate,
        "requests": total,
        "p50_ms": _percentile(latencies, 0.50),
        "p99_ms": _percentile(latencies, 0.99),
        "p999_ms": _percentile(latencies, 0.999),
        "dispatch_lag_ms": round(worst_dispatch_lag * 1000, 1),
        "status": statuses,
        "cache": cache,
        # what the responses carried: two runs of one read compare only when they did the same work
        "bytes_per_response": round(body_bytes[0] / max(total, 1)),
    }
