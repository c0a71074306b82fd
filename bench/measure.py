"""CPU per request per tier and SQL statements per request around one scenario.

The idle stack is measured first (`idle_rates`: CPU milliseconds per second per tier, the stack's
idle cost); a scenario's CPU is what each tier used during the scenario minus what it would have
used idle in the same time, divided by the scenario's requests. SQL statements are read from
PgBouncer before and after, outside the CPU window (reading them runs psql in the PgBouncer
containers).
"""

from __future__ import annotations

import hashlib
import os
import statistics
import time
from collections.abc import Callable

import stack

# A whole number of the periods of what the stack does at rest (Docker health checks every 10 or 15 s,
# beat schedules every 5 s): a 10 s window caught one health check of a container or none, and the idle
# figure (and what is subtracted from every scenario) moved by a tenth from run to run.
IDLE_SECONDS = float(os.environ.get("BENCH_IDLE_SECONDS", "30"))


def idle_rates(seconds: float = IDLE_SECONDS) -> dict[str, float]:
    """CPU milliseconds per second each tier uses with no load."""
    before = stack.CpuSnapshot()
    time.sleep(seconds)
    used = stack.CpuSnapshot().by_group_since(before)
    return {group: round(ms / seconds, 2) for group, ms in sorted(used.items())}


def machine_gauge_ms(repeats: int = 11) -> float:
    """CPU milliseconds this machine spends on one fixed piece of work (PBKDF2-SHA256, 100,000
    iterations, one thread, on the host), the median of `repeats`. The same code costs more CPU per
    request when the cores are slower or shared with a busier host: runs of different days are
    compared through this figure, not as if the machine had stayed the same."""
    spent = []
    for _ in range(repeats):
        started = time.process_time()
        hashlib.pbkdf2_hmac("sha256", b"bench", b"machine-gauge", 100_000)
        spent.append((time.process_time() - started) * 1000)
    return round(statistics.median(spent), 1)


def measured(run: Callable[[], dict], *, idle: dict[str, float], settle: Callable[[dict], None] | None = None) -> dict:
    """Run a scenario; add CPU ms per request per tier (idle subtracted) and SQL statements per request.

    `settle(result)`, when given, runs inside the measured window after the load (e.g. waiting until
    every placed order is confirmed, so the saga's work is counted).
    """
    statements_before = stack.pgbouncer_statements()
    cpu_before, started = stack.CpuSnapshot(), time.monotonic()
    result = run()
    if settle is not None:
        settle(result)
    cpu_after, elapsed = stack.CpuSnapshot(), time.monotonic() - started
    statements = stack.pgbouncer_statements() - statements_before
    requests = max(1, result["requests"])
    used = cpu_after.by_group_since(cpu_before)
    per_request = {
        group: round(max(0.0, ms - idle.get(group, 0.0) * elapsed) / requests, 3) for group, ms in sorted(used.items())
    }
    result["cpu_ms_per_request"] = per_request
    result["cpu_ms_per_request_total"] = round(sum(per_request.values()), 2)
    result["sql_per_request"] = round(statements / requests, 2)
    result["window_s"] = round(elapsed, 1)
    return result
