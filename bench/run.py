"""`make bench`: a bounded benchmark of the running platform that refuses to report what it did not measure.

Scenarios (see scenarios.py): a static file, b edge-cache hit, c through nginx + gateway (never an
edge hit), g/d the same GET to the gateway / to product directly inside the network (32 and 1
connections), e order placement until every order is confirmed, open-loop latency of the GET and of
order placement at half their measured rate, and product at 1 and 3 CPU-capped replicas. Each
scenario checks its preconditions (checks.py); one that fails is INVALID, is left out of every
target, and makes `make bench` exit 1. Results: bench/results/bench-<time>.{md,json}, and latest.*
when the whole run was valid.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime

import fixtures
import report
import stack
from measure import IDLE_SECONDS, idle_rates
from scenarios import CONNECTIONS, SECONDS, Bench

CPUS = os.environ.get("BENCH_PRODUCT_CPUS", "0.2")


def run_all(bench: Bench) -> dict[str, dict]:
    s: dict[str, dict] = {}
    s["a_static"] = bench.static()
    s["b_edge_hit"] = bench.edge_hit()
    s["c_edge_gateway_product"] = bench.through_edge()
    s["g_gateway_direct"] = bench.gateway_direct()
    s["d_product_direct"] = bench.product_direct()
    s["g1_gateway_direct_1conn"] = bench.gateway_direct(connections=1, seconds=5)
    s["d1_product_direct_1conn"] = bench.product_direct(connections=1, seconds=5)
    s["e_place_order"] = bench.place_orders()
    s["latency_get_half_load"] = bench.latency_get(round(s["c_edge_gateway_product"]["rps"] / 2, 1))
    s["latency_order_half_load"] = bench.latency_orders(round(s["e_place_order"]["rps"] / 2, 1))
    for replicas in (1, 3):
        s[f"scale_product_x{replicas}"] = bench.scaled(replicas, CPUS)
    return s


def _target(what: str, value, target: str, met, *sources: dict) -> dict:
    if any(source["problems"] for source in sources):
        return {"what": what, "value": "n/a (INVALID)", "target": target, "met": False}
    return {"what": what, "value": value, "target": target, "met": met(value)}


def targets(s: dict[str, dict], idle: dict[str, float]) -> list[dict]:
    a, b, g, d = s["a_static"], s["b_edge_hit"], s["g_gateway_direct"], s["d_product_direct"]
    g1, d1, e = s["g1_gateway_direct_1conn"], s["d1_product_direct_1conn"], s["e_place_order"]
    x1, x3 = s["scale_product_x1"], s["scale_product_x3"]
    gateway_cpu = g["cpu_ms_per_request"].get("gateway", 0.0)
    product_cpu = max(g["cpu_ms_per_request"].get("product", 0.0), 1e-9)
    return [
        _target(
            "edge: cached GET / static file (b/a)", round(b["rps"] / a["rps"], 3), ">= 0.8", lambda v: v >= 0.8, a, b
        ),
        _target(
            "gateway: through it / direct (g/d)", round(g["rps"] / d["rps"], 3), ">= 0.7", lambda v: v >= 0.7, g, d
        ),
        _target(
            "gateway CPU / product CPU per request (g)",
            round(gateway_cpu / product_cpu, 2),
            "<= 0.4",
            lambda v: v <= 0.4,
            g,
        ),
        _target(
            "gateway added p50, 1 connection (g1 - d1), ms",
            round(g1["p50_ms"] - d1["p50_ms"], 2),
            "<= 2",
            lambda v: v <= 2,
            g1,
            d1,
        ),
        _target("CPU per placed and confirmed order, ms", e["cpu_ms_per_request_total"], "<= 20", lambda v: v <= 20, e),
        _target("SQL statements per order", e["sql_per_request"], "<= 15", lambda v: v <= 15, e),
        _target("orders per second", e["rps"], ">= 80", lambda v: v >= 80, e),
        _target(
            "order p99 at half load (open loop), ms",
            s["latency_order_half_load"]["p99_ms"],
            "<= 250",
            lambda v: v <= 250,
            s["latency_order_half_load"],
        ),
        _target("idle stack CPU, ms per s", round(sum(idle.values()), 1), "<= 50", lambda v: v <= 50),
        _target(
            "scaling efficiency x3 / (3 * x1)", round(x3["rps"] / (3 * x1["rps"]), 3), "report", lambda v: None, x1, x3
        ),
    ]


def main() -> int:
    fixtures.tools()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    with fixtures.held_for_the_run():
        try:
            fx = fixtures.make()
            fixtures.log(f"measuring the idle stack for {IDLE_SECONDS:.0f} s")
            idle = idle_rates(IDLE_SECONDS)
            scenarios = run_all(Bench(fx, idle))
        finally:
            fixtures.log("restoring: product at 1 replica without a CPU cap, nginx with its configured limits")
            stack.compose("up", "-d", "--wait", "--no-recreate", "--scale", "product=1", "product")
            stack.compose("up", "-d", "--wait", "--force-recreate", "product")
    valid = not any(result["problems"] for result in scenarios.values())
    results = {
        "started_at": started,
        "seconds": SECONDS,
        "connections": CONNECTIONS,
        "product_cpus_when_scaling": CPUS,
        "idle_cpu_ms_per_s": idle,
        "scenarios": scenarios,
        "targets": targets(scenarios, idle),
        "valid": valid,
    }
    path = report.write(results)
    print(f"saved {path} (and .json)" + ("" if valid else "; INVALID scenarios above: not saved as latest"))
    return 0 if valid else 1


if __name__ == "__main__":
    sys.exit(main())
