"""`make profile`: where each Python tier spends its CPU on the order path, sampled with py-spy.

The benchmark (`make bench`) says how much CPU each tier spends per order; this says on what. It
watches the gateway, the three services and their Celery workers for the same time twice: once at
rest, once while orders are placed through the edge at a fixed rate (open loop, `PROFILE_RATE` a
second for `PROFILE_SECONDS`, then until every order is confirmed: the saga's work counts).

- How much: each tier's cgroup CPU under load minus at rest, over the orders (as `make bench`).
- On what: `py-spy record --subprocesses --gil --format raw`, from the host, on each container's
  first process and its children. A sample is a thread holding the GIL: Python at work, not waiting
  (py-spy's own idle detection sees every thread in a container as running). Held is not always
  running: on a busy machine a thread may hold the GIL while the kernel runs another process, so the
  samples give shares, not milliseconds; C code that lets the GIL go (libpq's network waits) is not
  counted. Each stack goes under the category of its innermost frame that has one (the library doing
  the work: psycopg, Celery and kombu, Django's request cycle, ...), under load minus at rest, and
  each tier's functions are ranked by their own samples.

It refuses to report when an order failed or was not confirmed, when a tier used less CPU under load
than at rest (the rest window was not at rest), or when py-spy failed or had errors in more than 1% of
its samples. Written to `bench/results/profile-<time>.md` (and `profile-latest.md`).
"""

from __future__ import annotations

import collections
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import fixtures
import load
import stack
from fixtures import BASE, log

RATE = float(os.environ.get("PROFILE_RATE", "10"))
SECONDS = int(os.environ.get("PROFILE_SECONDS", "30"))
HZ = 100  # samples a second and process
SETTLE = 20  # seconds after the last order for its saga to finish (checked: every order confirmed)
TIERS = ("gateway", "user", "product", "order", "user-worker", "product-worker", "order-worker")
# a stack goes under the category of its innermost frame that has one (the library doing the work)
CATEGORIES = [
    ("PostgreSQL driver (psycopg)", r"(^|/)psycopg(_c)?/"),
    ("Redis client", r"(^|/)redis/"),
    ("JSON", r"(^|/)json/|orjson"),
    ("JWT and crypto", r"(^|/)(jwt|cryptography|rest_framework_simplejwt|argon2)/"),
    ("HTTP client (urllib3, http.client)", r"(^|/)(urllib3/|http/client\.py)"),
    ("logging", r"(^|/)logging/"),
    ("metrics (prometheus_client)", r"(^|/)(prometheus_client|django_prometheus)/"),
    ("Django ORM", r"(^|/)django/db/"),
    ("DRF", r"(^|/)rest_framework/"),
    ("Celery, kombu, billiard", r"(^|/)(celery|kombu|billiard|amqp|vine)/"),
    ("gunicorn", r"(^|/)gunicorn/"),
    ("Django request cycle", r"(^|/)django/"),
    # the platform's own modules (py-spy names a file relative to the sys.path entry it was found in)
    ("platform code", r"^(/app/)?(shared|gateway|products|orders|users|ops|config|monolith)/"),
]
SPY = str(Path(sys.executable).parent / "py-spy")  # the venv's (requirements/dev.lock)
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*):\d+\)$")


def pid_of(container: str) -> int:
    return int(stack.docker("inspect", "-f", "{{.State.Pid}}", container).strip())


def record(seconds: float, out: Path) -> dict[str, list[subprocess.Popen]]:
    """Start py-spy on every container of each tier; {tier: [process, ...]}."""
    by_service = collections.defaultdict(list)
    for container, service in stack.containers().items():
        by_service[service].append(container)
    spies: dict[str, list[subprocess.Popen]] = {}
    for tier in TIERS:
        spies[tier] = []
        for n, container in enumerate(by_service.get(tier, [])):
            args = [SPY, "record", "--subprocesses", "--gil", "--format", "raw", "-r", str(HZ)]
            args += ["-d", str(int(seconds)), "-o", str(out / f"{tier}.{n}.txt"), "-p", str(pid_of(container))]
            spies[tier].append(subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    return spies


def collected(spies: dict[str, list[subprocess.Popen]], out: Path) -> tuple[dict[str, collections.Counter], list]:
    """Every tier's stacks with their sample counts, and the problems py-spy reported."""
    stacks: dict[str, collections.Counter] = {}
    problems = []
    for tier, processes in spies.items():
        stacks[tier] = collections.Counter()
        for n, process in enumerate(processes):
            output = process.communicate()[0] or ""
            counted = re.search(r"Samples: (\d+) Errors: (\d+)", output)
            if process.returncode != 0 or not counted or int(counted[2]) * 100 > int(counted[1]):
                problems.append(f"py-spy on {tier}: exit {process.returncode} (more than 1% errors?): {output[-300:]}")
            path = out / f"{tier}.{n}.txt"
            record = ""  # a process's command line may span lines: a stack ends with its count
            for line in path.read_text().splitlines() if path.exists() else []:
                record += line
                frames, _, count = record.rpartition(" ")
                if count.isdigit():
                    stacks[tier][frames] += int(count)
                    record = ""
    return stacks, problems


def category(frames: str) -> str:
    for frame in reversed(frames.split(";")):
        if m := FRAME.match(frame):
            for name, pattern in CATEGORIES:
                if re.search(pattern, m["file"]):
                    return name
    return "other (interpreter, standard library)"


def own(frames: str) -> str:
    """The innermost frame, as `function (file)`."""
    m = FRAME.match(frames.split(";")[-1])
    return f"{m['function']} ({m['file']})" if m else frames.split(";")[-1]


def profile_window(seconds: float, during=None) -> tuple[dict[str, collections.Counter], dict, list, object]:
    """py-spy's stacks per tier, the tiers' CPU milliseconds (cgroups), py-spy's problems, `during()`."""
    with tempfile.TemporaryDirectory() as tmp:
        spies = record(seconds, Path(tmp))
        time.sleep(1)  # py-spy attached
        before, started = stack.CpuSnapshot(), time.monotonic()
        result = during() if during else None
        time.sleep(max(0.0, seconds - 2 - (time.monotonic() - started)))
        cpu = stack.CpuSnapshot().by_group_since(before)
        stacks, problems = collected(spies, Path(tmp))
    return stacks, cpu, problems, result


def place_orders(fx: fixtures.Fixtures) -> dict:
    headers = {"Authorization": f"Bearer {fx.user_token}", "Content-Type": "application/json"}
    body = json.dumps({"items": [{"product_id": fx.product_id, "quantity": 1}]})

    def place(pool, n):
        return pool.request("POST", f"{BASE}/api/orders/", body=body, headers=headers)

    result = load.open_loop(place, rate=RATE, seconds=SECONDS)
    deadline = time.monotonic() + SETTLE
    with stack.OrderStatuses(fx.user_id) as orders:
        while time.monotonic() < deadline and orders.now().get("pending"):
            time.sleep(1)
        result["order_statuses"] = orders.now()
    return result


def report(rest: dict, busy: dict, rest_cpu: dict, busy_cpu: dict, orders: int, window: float) -> str:
    names = [name for name, _ in CATEGORIES] + ["other (interpreter, standard library)"]
    lines = [
        f"# make profile, {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}",
        "",
        f"{orders} orders placed at {RATE}/s for {SECONDS} s, every one confirmed. Each window {window:.0f} s, one at"
        " rest and one under load. CPU ms per order: the tier's cgroup CPU under load minus at rest, over the orders."
        f" The shares: where py-spy ({HZ} Hz, threads holding the GIL) found the tier's threads, under load minus at"
        " rest, by the category of the innermost frame that has one.",
        "",
        "| tier | CPU ms/order | samples load / rest | " + " | ".join(names) + " |",
        "|---|---:|---:|" + "---:|" * len(names),
    ]
    tops = []
    for tier in TIERS:
        by = {window: collections.Counter() for window in ("busy", "rest")}
        for window_name, stacks in (("busy", busy[tier]), ("rest", rest[tier])):
            for frames, count in stacks.items():
                by[window_name][category(frames)] += count
        shares = [max(0, by["busy"][name] - by["rest"][name]) for name in names]
        whole = sum(shares) or 1
        cpu = (busy_cpu.get(tier, 0.0) - rest_cpu.get(tier, 0.0)) / orders
        lines.append(
            f"| {tier} | {cpu:.2f} | {sum(by['busy'].values())} / {sum(by['rest'].values())} | "
            + " | ".join(f"{100 * share / whole:.0f}%" for share in shares)
            + " |"
        )
        functions = collections.Counter()
        for frames, count in busy[tier].items():
            functions[own(frames)] += count
        samples = sum(functions.values()) or 1
        tops.append(f"\n**{tier}**, share of its samples under load (own time):\n")
        tops += [f"- {100 * count / samples:.1f}% {name}" for name, count in functions.most_common(8)]
    return "\n".join(lines + ["", "The functions each tier spent most of its own time in:"] + tops) + "\n"


def main() -> int:
    if not Path(SPY).exists():
        print("py-spy is not installed: make venv (requirements/dev.lock)", file=sys.stderr)
        return 1
    window = SECONDS + SETTLE
    with fixtures.held_for_the_run():
        fx = fixtures.make()
        log(f"profiling the stack at rest for {window} s")
        rest, rest_cpu, problems, _ = profile_window(window)
        log(f"profiling while placing orders at {RATE}/s for {SECONDS} s, then until they are confirmed")
        busy, busy_cpu, more, result = profile_window(window, lambda: place_orders(fx))
    problems += more
    orders = result["order_statuses"].get("confirmed", 0)
    if set(result["status"]) != {"202"}:
        problems.append(f"answers: {result['status']}")
    if result["order_statuses"] != {"confirmed": orders} or orders != result["requests"]:
        problems.append(f"orders: {result['order_statuses']} of {result['requests']} placed")
    # a tier that used more CPU at rest than under load: something else ran in the rest window
    quieter = [tier for tier in TIERS if busy_cpu.get(tier, 0.0) < rest_cpu.get(tier, 0.0)]
    if quieter:
        problems.append(f"less CPU under load than at rest: {quieter} (the rest window was not at rest)")
    if problems:
        print("INVALID, not reported:\n" + "\n".join(problems), file=sys.stderr)
        return 1
    text = report(rest, busy, rest_cpu, busy_cpu, orders, window)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    for name in (f"profile-{stamp}.md", "profile-latest.md"):
        (stack.ROOT / "bench" / "results" / name).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
