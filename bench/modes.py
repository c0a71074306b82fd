"""`make bench-modes`: what the split into services costs, measured. The same scenarios against the
services and then against the monolith (`make up MODE=...` between them), on the same machine, side by side.

Per mode: c (a product GET through nginx and the gateway, never from the edge cache), e (orders placed
until every one is confirmed), and the open-loop latency of both at the same fixed arrival rates in both
modes (half of what the services mode measured); beside them the idle stack's CPU per second, the memory of
every running container, and how many run. Each scenario checks its own preconditions (scenarios.py,
checks.py): an INVALID one is shown as such and makes `make bench-modes` exit 1, and a comparison that
includes it is not made. Results: bench/results/modes-<time>.{md,json}, and modes-latest.* when valid.
The stack is left in the services mode.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime

import fixtures
import report
import stack
from measure import IDLE_SECONDS, idle_rates
from scenarios import SECONDS, Bench

MODES = ("services", "monolith")
# the processes that run the domains' code in each mode (the rest of the stack is the same in both)
APPLICATION = {
    "services": ("gateway", "user", "product", "order", "user-worker", "product-worker", "order-worker"),
    "monolith": ("gateway", "monolith", "monolith-worker"),
}
_UNITS = {"B": 1 / 2**20, "KiB": 1 / 2**10, "MiB": 1.0, "GiB": 2**10}


def switch(mode: str) -> None:
    fixtures.log(f"make up MODE={mode}")
    subprocess.run(["make", "--no-print-directory", "up", f"MODE={mode}"], cwd=stack.ROOT, check=True)


def memory_mib() -> dict[str, float]:
    """MiB of memory each compose service's running containers use now (`docker stats`)."""
    services = stack.containers()
    out = stack.docker("stats", "--no-stream", "--format", "{{.ID}} {{.MemUsage}}")
    used: dict[str, float] = {}
    for line in out.splitlines():
        short_id, usage = line.split(" ", 1)
        amount = re.match(r"([\d.]+)\s*([KMG]?i?B)", usage)
        service = next((name for cid, name in services.items() if cid.startswith(short_id)), None)
        if amount and service:
            used[service] = used.get(service, 0.0) + float(amount.group(1)) * _UNITS[amount.group(2)]
    return {service: round(mib, 1) for service, mib in sorted(used.items())}


def run_mode(mode: str, rates: dict[str, float] | None) -> dict:
    switch(mode)
    with fixtures.held_for_the_run():
        fx = fixtures.make()
        fixtures.log(f"{mode}: measuring the idle stack for {IDLE_SECONDS:.0f} s")
        idle = idle_rates(IDLE_SECONDS)
        memory = memory_mib()
        bench = Bench(fx, idle)
        s = {"c_edge_gateway_get": bench.through_edge(), "e_place_order": bench.place_orders()}
        rates = rates or {
            "get": round(s["c_edge_gateway_get"]["rps"] / 2, 1),
            "order": round(s["e_place_order"]["rps"] / 2, 1),
        }
        s["latency_get_fixed_rate"] = bench.latency_get(rates["get"])
        s["latency_order_fixed_rate"] = bench.latency_orders(rates["order"])
    return {
        "scenarios": s,
        "rates": rates,
        "idle_cpu_ms_per_s": idle,
        "memory_mib": memory,
        "containers": len(stack.containers()),
    }


def _ratio(a: float, b: float) -> str:
    return f"{b / a:.2f}" if a else "—"


def comparison(results: dict[str, dict]) -> list[str]:
    """The side-by-side table: one row per figure, the services' and the monolith's, and their ratio."""
    services, monolith = results["services"], results["monolith"]
    valid = not any(r["problems"] for mode in (services, monolith) for r in mode["scenarios"].values())
    if not valid:
        return ["No comparison: a scenario was INVALID (see each mode's table)."]

    def figure(mode: dict, scenario: str, key: str) -> float:
        return mode["scenarios"][scenario][key]

    def app_memory(mode: str) -> float:
        return round(sum(v for k, v in results[mode]["memory_mib"].items() if k in APPLICATION[mode]), 1)

    rows = [
        ("CPU ms per product GET (c, all containers)", "c_edge_gateway_get", "cpu_ms_per_request_total"),
        ("SQL statements per product GET (c)", "c_edge_gateway_get", "sql_per_request"),
        ("CPU ms per placed and confirmed order (e)", "e_place_order", "cpu_ms_per_request_total"),
        ("SQL statements per order (e)", "e_place_order", "sql_per_request"),
        ("orders per second (e, closed loop)", "e_place_order", "rps"),
        ("GET p50 ms at the fixed rate", "latency_get_fixed_rate", "p50_ms"),
        ("GET p99 ms at the fixed rate", "latency_get_fixed_rate", "p99_ms"),
        ("order p50 ms at the fixed rate", "latency_order_fixed_rate", "p50_ms"),
        ("order p99 ms at the fixed rate", "latency_order_fixed_rate", "p99_ms"),
    ]
    lines = ["| figure | services | monolith | monolith / services |", "|---|---:|---:|---:|"]
    for what, scenario, key in rows:
        a, b = figure(services, scenario, key), figure(monolith, scenario, key)
        lines.append(f"| {what} | {a} | {b} | {_ratio(a, b)} |")
    for what, a, b in (
        (
            "idle stack CPU, ms per s",
            sum(services["idle_cpu_ms_per_s"].values()),
            sum(monolith["idle_cpu_ms_per_s"].values()),
        ),
        ("memory of the application processes, MiB", app_memory("services"), app_memory("monolith")),
        ("memory of every container, MiB", sum(services["memory_mib"].values()), sum(monolith["memory_mib"].values())),
        ("containers running", services["containers"], monolith["containers"]),
    ):
        lines.append(f"| {what} | {round(a, 1)} | {round(b, 1)} | {_ratio(a, b)} |")
    return lines


def markdown(results: dict) -> str:
    lines = [
        f"# make bench-modes, {results['started_at']}",
        "",
        f"The same scenarios against the services, then the monolith; {SECONDS} s each, fixed-rate latency at "
        f"{results['services']['rates']['get']} GETs/s and {results['services']['rates']['order']} orders/s in "
        "both modes. CPU is cgroup time per request with the idle stack's subtracted; SQL is PgBouncer's "
        "statement count per request.",
        "",
        *comparison(results),
    ]
    for mode in MODES:
        r = results[mode]
        used = [s.get("cpu_ms_per_request", {}) for s in r["scenarios"].values()]
        tiers = sorted({tier for cpu in used for tier, ms in cpu.items() if ms >= 0.01})  # the tiers that work
        lines += [
            "",
            f"## {mode}",
            "",
            *report.scenario_tables(r["scenarios"], tiers),
            "",
            "Memory, MiB: " + ", ".join(f"{k} {v}" for k, v in r["memory_mib"].items()),
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    fixtures.tools()
    results: dict = {"started_at": datetime.now(UTC).isoformat(timespec="seconds")}
    try:
        results["services"] = run_mode("services", None)
        results["monolith"] = run_mode("monolith", results["services"]["rates"])
    finally:
        switch("services")
    results["valid"] = not any(r["problems"] for mode in MODES for r in results[mode]["scenarios"].values())
    text = markdown(results)
    report.RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for name in [f"modes-{stamp}"] + (["modes-latest"] if results["valid"] else []):
        (report.RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
        (report.RESULTS / f"{name}.md").write_text(text)
    print(text)
    return 0 if results["valid"] else 1


if __name__ == "__main__":
    sys.exit(main())
