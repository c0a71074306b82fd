"""`make bench-sizes`: the public reads at the small data set, then at the large one, side by side.

1. Refuses to start unless the stack holds the small data set (`make clean up` makes one).
2. Measures the eight reads of reads.py (each in `reads.ROUNDS` rounds: the median p99), the Postgres
   slow log (30 ms) during them and each tier's resident memory.
3. Loads the large data set (`make seed SIZE=large`: 2,000,000 products, 1,000,000 users, 2,000,000
   orders; the time is reported) and checks it is there (planner estimates per table).
4. Waits until the stack at rest is as quiet as before the small reads (`at_rest`), and measures the
   same reads again, and reports per read: p50/p99 at both sizes, the large/small p99
   ratio, SQL statements and CPU per request; targets: p99 <= 100 ms at the large size and <= 1.5x the
   small one, an empty slow log, memory per service within 1.25x.

A read whose preconditions fail is INVALID and the run exits 1 (see reads.py). The large data set
stays: run `make clean up` to go back to the small one. Results: bench/results/sizes-<time>.{md,json}
and sizes-latest.* when every read was valid.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime

import fixtures
import reads
import stack
from fixtures import log
from measure import MachineGauge, idle_rates
from report import RESULTS

TABLES = {
    "product": ("products", "products_product"),
    "user": ("users", "users_user"),
    "order": ("orders", "orders_order"),
}
LARGE = {"products_product": 2_000_000, "users_user": 1_000_000, "orders_order": 2_000_000}
SMALL_AT_MOST = 100_000
SETTLE_SECONDS = 300
# the large reads start once the stack at rest uses no more CPU than before the small reads, give or take
QUIET_RATIO, QUIET_SLACK_MS = 1.25, 50
WEB = ("gateway", "user", "product", "order")
# the machine's speed (measure.MachineGauge, during each phase's reads) may differ this much between the
# two phases, and no more: the two sizes are compared as measured on one machine
GAUGE_RATIO_MAX = 1.25


def data_size() -> dict[str, int]:
    """Rows per table over every shard primary, from the planner's statistics (ANALYZEd by the seeds)."""
    sizes: dict[str, int] = {}
    for service, (database, table) in TABLES.items():
        total = 0
        for server in (f"{service}-db-0", f"{service}-db-1"):
            sql = f"ANALYZE {table}; SELECT reltuples::bigint FROM pg_class WHERE relname = '{table}'"
            total += max(0, int(stack.psql(server, database, sql).splitlines()[-1]))
        sizes[table] = total
    return sizes


def at_rest(quiet_at: float | None) -> tuple[dict[str, float], str | None]:
    """The stack's CPU per tier at rest, once it uses at most `quiet_at` ms/s in all (any, if None).

    After the large seed the servers go on working for minutes (autovacuum, checkpoints, standbys
    replaying): reads measured then would be slower for reasons that are not the data's size. So this
    waits, in windows of `IDLE_SECONDS` for at most SETTLE_SECONDS, until the stack is as quiet as it was before the
    small reads; if it never is, the reason comes back (and every read of the phase is INVALID).
    """
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        idle = idle_rates()
        total = round(sum(idle.values()))
        if quiet_at is None or total <= quiet_at:
            return idle, None
        if time.monotonic() > deadline:
            return idle, f"the stack at rest used {total} ms/s of CPU (at most {round(quiet_at)} wanted)"
        log(f"waiting for the stack to settle: {total} ms/s of CPU at rest, {round(quiet_at)} wanted")


def _role_of(line: str) -> str:
    """The role and database that sent a logged statement (log_line_prefix `%u@%d`): the application's
    (`app@...`) or the monitoring's (Patroni's and the exporters', `postgres@...`)."""
    match = re.search(r" (\S+@\S*) (?:LOG|WARNING|ERROR):", line)
    return match.group(1) if match else "unknown"


def _server_of(line: str) -> str:
    return line.partition(": ")[0]  # each line starts with `<service>: `


def _tally(lines: list[str], key) -> dict[str, int]:
    return dict(Counter(key(line) for line in lines).most_common())


def phase(name: str, rf: reads.ReadFixtures, *, quiet_at: float | None = None) -> dict:
    idle, not_quiet = at_rest(quiet_at)
    started = time.time()
    with MachineGauge() as gauge:
        results = reads.run_reads(rf, idle=idle)
    if not_quiet:
        for result in results.values():
            result["problems"].append(not_quiet)
    time.sleep(2)  # the last statements reach the logs
    slow = stack.slow_statements_since(started)  # before data_size(), whose ANALYZE is not a read
    return {
        "size": data_size(),
        "reads": results,
        "slow_statements": len(slow),
        "slow_statements_by_role": _tally(slow, _role_of),
        "slow_statements_by_server": _tally(slow, _server_of),
        "slow_statement_lines": slow[:20],  # what they were, so a failed target says where to look
        "memory_mb": stack.memory_mb_by_group(),
        "idle_cpu_ms_per_s": round(sum(idle.values())),
        "idle_docker_ms_per_s": round(idle.get("docker", 0.0)),
        "machine_gauge": gauge.summary(),
        "name": name,
    }


def machine_changed(small: dict, large: dict) -> str | None:
    """Why the two sizes were not measured on one machine: the mean of its gauge during the large
    reads differs more than GAUGE_RATIO_MAX from that during the small ones (a busier host, a slower
    core). None when it did not."""
    means = [phase_result["machine_gauge"]["mean_ms"] for phase_result in (small, large)]
    if None in means:
        return f"the machine gauge took too few readings (small {means[0]}, large {means[1]})"
    ratio = max(means) / max(min(means), 0.1)
    if ratio <= GAUGE_RATIO_MAX:
        return None
    return (
        f"the machine's speed changed {ratio:.2f}x between the two phases (machine gauge during the reads, "
        f"mean ms: small {means[0]}, large {means[1]}; at most {GAUGE_RATIO_MAX}x)"
    )


def _gauge_text(phase_result: dict) -> str:
    gauge = phase_result.get("machine_gauge", {})
    spread = f"p10 {gauge.get('p10_ms')}, p90 {gauge.get('p90_ms')}, {gauge.get('samples')} readings"
    return f"mean {gauge.get('mean_ms')} ms ({spread})"


def seed_large() -> float:
    log("loading the large data set: make seed SIZE=large")
    started = time.monotonic()
    subprocess.run(["make", "--no-print-directory", "seed", "SIZE=large"], cwd=stack.ROOT, check=True)
    return round(time.monotonic() - started, 1)


def query_plans() -> dict[str, str]:
    """Each service's `check_query_plans` on the large data set: its last line, and whether it passed."""
    outcome = {}
    for service in stack.SERVICES:
        done = subprocess.run(
            ["docker", "compose", "exec", "-T", service, "python", "manage.py", "check_query_plans"],
            cwd=stack.ROOT,
            capture_output=True,
            text=True,
        )
        # its verdict is its last line on stdout; its log (slow statements) goes to stderr
        lines = (done.stdout if done.returncode == 0 else done.stdout + done.stderr).strip().splitlines()
        lines = lines or ["(no output)"]
        outcome[service] = ("ok: " if done.returncode == 0 else "FAILED: ") + lines[-1]
        if done.returncode:
            print(done.stdout + done.stderr, file=sys.stderr)
    return outcome


def targets(small: dict, large: dict, plans: dict[str, str]) -> list[dict]:
    rows = [
        {"what": f"{service}: no sequential scan of a large table (EXPLAIN)", "value": verdict, "target": "ok"}
        | {"met": verdict.startswith("ok")}
        for service, verdict in plans.items()
    ]
    for name, big in large["reads"].items():
        little = small["reads"][name]
        ratio = round(big["p99_ms"] / max(little["p99_ms"], 0.01), 2)
        invalid = bool(big["problems"] or little["problems"])
        rows.append(
            {
                "what": f"{name}: p99 at the large size, ms",
                "value": big["p99_ms"],
                "target": "<= 100",
                "met": not invalid and big["p99_ms"] <= 100,
            }
        )
        rows.append(
            {
                "what": f"{name}: p99 large / small",
                "value": ratio,
                "target": "<= 1.5",
                "met": not invalid and ratio <= 1.5,
            }
        )
    for phase_result in (small, large):
        slow = phase_result["slow_statements"]
        rows.append(
            {
                "what": f"slow statements (>= 30 ms) during the {phase_result['name']} reads",
                "value": slow,
                "target": "0",
                "met": slow == 0,
            }
        )
    for group in WEB:
        before, after = small["memory_mb"].get(group, 0.0), large["memory_mb"].get(group, 0.0)
        ratio = round(after / max(before, 1.0), 2)
        rows.append(
            {
                "what": f"{group} memory large / small ({before} -> {after} MB)",
                "value": ratio,
                "target": "<= 1.25",
                "met": ratio <= 1.25,
            }
        )
    return rows


def markdown(results: dict) -> str:
    small, large = results["small"], results["large"]
    lines = [
        f"# make bench-sizes, {results['started_at']}",
        "",
        f"Small data set: {small['size']}. Large data set: {large['size']}, loaded in {results['seed_seconds']} s.",
        "",
        "| read | small p50 ms | small p99 ms | large p50 ms | large p99 ms | p99 large/small "
        "| SQL/req small | SQL/req large | CPU ms/req small | CPU ms/req large | valid |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, big in large["reads"].items():
        little = small["reads"][name]
        problems = little["problems"] + big["problems"]
        lines.append(
            f"| {name} | {little['p50_ms']} | {little['p99_ms']} | {big['p50_ms']} | {big['p99_ms']} | "
            f"{round(big['p99_ms'] / max(little['p99_ms'], 0.01), 2)} | "
            f"{little['sql_per_request']} | {big['sql_per_request']} | "
            f"{little['cpu_ms_per_request_total']} | {big['cpu_ms_per_request_total']} | "
            f"{'ok' if not problems else 'INVALID: ' + '; '.join(problems)} |"
        )
    lines += ["", "| target | measured | target | met |", "|---|---:|---|---|"]
    lines += [
        f"| {t['what']} | {t['value']} | {t['target']} | {'yes' if t['met'] else 'no'} |" for t in results["targets"]
    ]
    lines += ["", "Each read's p99 per round, ms (the table gives their median):", ""]
    lines += [
        f"- {name}: small {small['reads'][name].get('p99_ms_by_round')}, large {big.get('p99_ms_by_round')}"
        for name, big in large["reads"].items()
    ]
    lines += ["", "Bytes per response, small -> large (the same work at both sizes where they are close):", ""]
    lines += [
        f"- {name}: {small['reads'][name].get('bytes_per_response')} -> {big.get('bytes_per_response')}"
        for name, big in large["reads"].items()
    ]
    lines += ["", f"Resident memory per tier, MB: small {small['memory_mb']}; large {large['memory_mb']}."]
    lines += [
        "",
        "The stack at rest before the reads, CPU ms/s (the containers and the host's Docker processes; of "
        f"which Docker's): small {small.get('idle_cpu_ms_per_s')} ({small.get('idle_docker_ms_per_s')}), "
        f"large {large.get('idle_cpu_ms_per_s')} ({large.get('idle_docker_ms_per_s')}).",
        "",
        "The machine during the reads (`bench/measure.py` MachineGauge: CPU ms of one fixed PBKDF2 on the "
        "host every 2 s; the same code costs more CPU per request where it is higher): "
        f"small {_gauge_text(small)}; large {_gauge_text(large)}.",
    ]
    for phase_result in (small, large):
        if phase_result.get("slow_statement_lines"):
            by_role, by_server = (
                ", ".join(f"{name} {n}" for name, n in phase_result.get(f"slow_statements_by_{what}", {}).items())
                for what in ("role", "server")
            )
            lines += [
                "",
                f"Slow statements during the {phase_result['name']} reads: {by_role}; by server: {by_server}.",
            ]
            lines += ["", "The first 20, in the order they were logged:"]
            lines += ["", "```"]
            lines += [line[:1000] for line in phase_result["slow_statement_lines"]]
            lines += ["```"]
    return "\n".join(lines) + "\n"


def write(results: dict) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = markdown(results)
    names = [f"sizes-{stamp}"] + (["sizes-latest"] if results["valid"] else [])
    for name in names:
        (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
        (RESULTS / f"{name}.md").write_text(text)
    print(text)
    return str(RESULTS / f"{names[0]}.md")


def main() -> int:
    fixtures.tools()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    size = data_size()
    if size["products_product"] > SMALL_AT_MOST:
        print(f"the stack holds {size}: bench-sizes starts from the small data set (make clean up)", file=sys.stderr)
        return 1
    with fixtures.held_for_the_run():
        fx = fixtures.make()
        own = [(fx.user_email, fixtures.PASSWORD)]
        small = phase("small", reads.prepare(fx, logins=own))
        seed_seconds = seed_large()
        size = data_size()
        short = {table: rows for table, rows in size.items() if rows < LARGE[table] * 0.95}
        if short:
            print(f"the large seed left too few rows: {short}", file=sys.stderr)
            return 1
        password = fixtures.dotenv()["SEED_USER_PASSWORD"]
        seeded = [(f"seed-{n}@users.example.com", password) for n in random.Random(1).sample(range(1, 1_000_001), 200)]
        log("EXPLAIN of every public read on the large data set (manage.py check_query_plans)")
        plans = query_plans()
        quiet_at = small["idle_cpu_ms_per_s"] * QUIET_RATIO + QUIET_SLACK_MS
        large = phase("large", reads.prepare(fx, logins=seeded, orders=0), quiet_at=quiet_at)
    changed = machine_changed(small, large)
    if changed:  # each large/small ratio compares two machines
        for result in large["reads"].values():
            result["problems"].append(changed)
    valid = not any(r["problems"] for p in (small, large) for r in p["reads"].values())
    results = {"started_at": started, "seed_seconds": seed_seconds, "small": small, "large": large, "valid": valid}
    results["query_plans"] = plans
    results["targets"] = targets(small, large, plans)
    path = write(results)
    print(f"saved {path}" + ("" if valid else "; INVALID reads above: not saved as latest"))
    return 0 if valid else 1


if __name__ == "__main__":
    sys.exit(main())
