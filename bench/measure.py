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
import threading
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


def _gauge_once() -> float:
    """CPU milliseconds of one fixed piece of work (PBKDF2-SHA256, 100,000 iterations) on the host."""
    started = time.thread_time()  # this thread's CPU alone (the load generator's threads run beside it)
    hashlib.pbkdf2_hmac("sha256", b"bench", b"machine-gauge", 100_000)  # releases the GIL
    return (time.thread_time() - started) * 1000


class MachineGauge:
    """The machine's speed over a stretch of time: `_gauge_once` every `every` seconds in a thread while
    the block runs, and the mean of them all (`summary()`). About 1.5% of one core of the host.

    The same code costs more CPU per request when the cores are slower or shared with a busier host,
    so two stretches (a bench's two phases, runs of different days) are compared through this figure,
    not as if the machine had stayed the same. It is taken over the whole stretch because one reading
    is not enough: at rest, medians of 11 readings taken seconds apart went from 30 to 58 ms
    (2026-12-07 21:12), and the bench that compared one such median before and one after each phase
    called a steady machine changed (sizes-20261207T211018Z: 33.4 and 30.5 ms before the two
    phases, 49.3 and 52.0 after). The readings fall in two groups, near 31 and near 57 ms, and the
    share of each changes from minute to minute (two minutes at rest, one after the other: medians
    54.3 and 35.8 ms, the 10th and 90th percentiles 31-34 and 57-59 in both). So the figure is their
    mean, which moves with that share, where the median jumps from one group to the other.
    """

    def __init__(self, every: float = 2.0):
        self.every = every
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="machine-gauge", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append(_gauge_once())

    def __enter__(self) -> MachineGauge:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict:
        """The mean (the stretch's figure) and the 10th and 90th percentiles, in ms, and the count."""
        if len(self.samples) < 10:
            return {"mean_ms": None, "p10_ms": None, "p90_ms": None, "samples": len(self.samples)}
        deciles = statistics.quantiles(self.samples, n=10)
        return {
            "mean_ms": round(statistics.fmean(self.samples), 1),
            "p10_ms": round(deciles[0], 1),
            "p90_ms": round(deciles[-1], 1),
            "samples": len(self.samples),
        }


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
