"""The benchmark's tables: each scenario with its validity, CPU per request per tier, the targets."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
TIERS = (
    "nginx",
    "gateway",
    "user",
    "product",
    "order",
    "user-worker",
    "product-worker",
    "order-worker",
    "pgbouncer",
    "postgres",
    "redis",
    "docker",
)


def _met(met: bool | None) -> str:
    return "—" if met is None else ("yes" if met else "no")


def _validity(result: dict) -> str:
    return "ok" if not result["problems"] else "INVALID: " + "; ".join(result["problems"])


def scenario_rows(scenarios: dict[str, dict]) -> list[str]:
    rows = [
        "| scenario | req/s | p50 ms | p99 ms | requests | CPU ms/req (all) | SQL/req | valid |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in scenarios.items():
        if "rps" in r:
            rows.append(
                f"| {name} | {r['rps']} | {r['p50_ms']} | {r['p99_ms']} | {r['requests']} "
                f"| {r['cpu_ms_per_request_total']} | {r['sql_per_request']} | {_validity(r)} |"
            )
    return rows


def tier_rows(scenarios: dict[str, dict], tiers: tuple[str, ...] | list[str] = TIERS) -> list[str]:
    rows = ["| scenario | " + " | ".join(tiers) + " |", "|---|" + "---:|" * len(tiers)]
    for name, r in scenarios.items():
        if "cpu_ms_per_request" in r:
            cells = [str(round(r["cpu_ms_per_request"].get(tier, 0.0), 2)) for tier in tiers]
            rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return rows


def latency_rows(scenarios: dict[str, dict]) -> list[str]:
    rows = ["| open loop | rate/s | p50 ms | p99 ms | p99.9 ms | valid |", "|---|---:|---:|---:|---:|---|"]
    for name, r in scenarios.items():
        if "p999_ms" in r:
            rows.append(f"| {name} | {r['rate']} | {r['p50_ms']} | {r['p99_ms']} | {r['p999_ms']} | {_validity(r)} |")
    return rows


def scenario_tables(scenarios: dict[str, dict], tiers: tuple[str, ...] | list[str] = TIERS) -> list[str]:
    """The scenarios, their CPU per request per tier, and the open-loop latencies."""
    return [
        *scenario_rows(scenarios),
        "",
        "CPU milliseconds per request, per tier:",
        "",
        *tier_rows(scenarios, tiers),
        "",
        *latency_rows(scenarios),
    ]


def markdown(results: dict) -> str:
    targets = [f"| {t['what']} | {t['value']} | {t['target']} | {_met(t['met'])} |" for t in results["targets"]]
    idle = results["idle_cpu_ms_per_s"]
    lines = [
        f"# make bench, {results['started_at']}",
        "",
        f"{results['seconds']} s per scenario, {results['connections']} connections (wrk, closed loop); "
        "latency at a fixed arrival rate (open loop). CPU is cgroup time per request with the idle "
        "stack's CPU subtracted; SQL is PgBouncer's statement count per request.",
        "",
        *scenario_tables(results["scenarios"]),
        "",
        f"Idle stack: **{round(sum(idle.values()), 1)} ms of CPU per second** "
        + "("
        + ", ".join(f"{tier} {ms}" for tier, ms in sorted(idle.items(), key=lambda kv: -kv[1]))
        + ")",
        "",
        "| target | measured | target | met |",
        "|---|---:|---|---|",
        *targets,
    ]
    return "\n".join(lines) + "\n"


def write(results: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = markdown(results)
    names = [f"bench-{stamp}"] + (["latest"] if results["valid"] else [])
    for name in names:
        (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
        (RESULTS / f"{name}.md").write_text(text)
    print(text)
    return RESULTS / f"bench-{stamp}.md"
