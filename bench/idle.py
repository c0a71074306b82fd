"""`make profile-idle`: where the idle stack's CPU goes, by container and by process.

`make bench` reports what each tier spends per second with no load (its idle row); this says on what.
For `IDLE_SECONDS` (60: a whole number of the stack's periods, health checks every 15 s, Patroni's
loop every 5 s) with no load, it reads, at the start and at the end:

- each container's cgroup CPU (what the kernel charged it: everything that ran in it);
- the CPU time of each process in the container (`/proc/<pid>/stat`: its own, all threads, and that
  of its children that ended and were waited for, e.g. a PostgreSQL backend that served one
  connection);
- how many of Docker's health checks ran in the window (the window over each container's interval).

A container's CPU that no process running at both ends accounts for is that of processes that
started or ended in the window and that none of them waited for: above all Docker's health checks,
each a process `docker exec` starts in the container. Processes are named by their command line
with numbers and the cluster's names left out, so that the same kind adds up across containers.

It refuses to report when the stack is not at rest (a container above `BUSY_MS_PER_S`, or any
request through the edge in the window, from nginx's access log). Written to
`bench/results/idle-<time>.md` (and `idle-latest.md`).
"""

from __future__ import annotations

import collections
import datetime
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import stack

SECONDS = float(os.environ.get("IDLE_SECONDS", "60"))
BUSY_MS_PER_S = 100.0  # more than this in one container at rest: something is running, not idling
TICK = os.sysconf("SC_CLK_TCK")
CGROUP = Path("/sys/fs/cgroup/cpuacct/docker")


def _proc_times(pid: str) -> tuple[str, float, float] | None:
    """(name, own CPU ms, waited-for children's CPU ms) of a process, or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
    return _name(cmdline or stat), (utime + stime) * 1000 / TICK, (cutime + cstime) * 1000 / TICK


def _name(cmdline: str) -> str:
    """A process's kind: its command line without arguments that differ from container to container."""
    text = cmdline.strip()
    text = re.sub(r"^(/usr/bin/|/usr/local/bin/|/usr/sbin/|/usr/lib/postgresql/\d+/bin/)", "", text)
    if text.startswith("postgres:"):  # "postgres: product-db-0: walsender replicator 172.18.0.5(4242) streaming 0/3"
        text = re.sub(r"^postgres: [\w-]+: ", "postgres: ", text)
        text = re.sub(r"\s[\d.]+\(\d+\).*$|\s\d+/[0-9A-F]+.*$", "", text)
    text = re.sub(r"\b[0-9a-f]{12,}\b|\b\d+(\.\d+)*\b", "N", text)
    return text[:90]


def _snapshot() -> dict[str, dict]:
    """Per container ID: its cgroup CPU ns and {pid: (name, own ms, children's ms)}."""
    taken = {}
    for cid in stack.containers():
        path = CGROUP / cid
        if not path.exists():
            continue
        pids = path.joinpath("cgroup.procs").read_text().split()
        taken[cid] = {
            "ns": int(path.joinpath("cpuacct.usage").read_text()),
            "procs": {pid: times for pid in pids if (times := _proc_times(pid)) is not None},
        }
    return taken


def _health_checks(cid: str, seconds: float) -> float:
    """How many of Docker's health checks of the container run in `seconds` (its interval; Docker keeps
    only the last five results, too few to count them)."""
    check = json.loads(stack.docker("inspect", "-f", "{{json .Config.Healthcheck}}", cid)) or {}
    nanoseconds = check.get("Interval", 0) if check.get("Test", ["NONE"])[0] != "NONE" else 0
    return seconds / (nanoseconds / 1e9) if nanoseconds else 0.0


def _edge_requests(since: float) -> int:
    """Requests nginx logged since `since` (Unix time): every request through the edge is logged but
    its own health check."""
    container = next(cid for cid, service in stack.containers().items() if service == "nginx")
    logged = subprocess.run(
        ["docker", "logs", "--since", f"{since:.3f}", container], capture_output=True, text=True, check=True
    )
    return sum(" rid=" in line for line in (logged.stdout + logged.stderr).splitlines())


def main() -> int:
    services = stack.containers()
    docker_before, before, started = stack.docker_host_ns(), _snapshot(), time.time()
    time.sleep(SECONDS)
    after, ended, docker_after = _snapshot(), time.time(), stack.docker_host_ns()
    time.sleep(2)  # nginx writes its access log at least every second (nginx.conf: flush=1s)
    requests = _edge_requests(started)
    elapsed = ended - started

    groups = collections.defaultdict(lambda: {"total": 0.0, "short": 0.0, "checks": 0, "containers": 0})
    kinds = collections.defaultdict(lambda: collections.Counter())
    busy = []
    for cid, end in after.items():
        if cid not in before:
            continue
        group = stack.group_of(services[cid])
        total = (end["ns"] - before[cid]["ns"]) / 1e6
        if total / elapsed > BUSY_MS_PER_S:
            busy.append(services[cid])
        accounted = 0.0
        for pid, (name, own, children) in end["procs"].items():
            if pid not in before[cid]["procs"]:
                continue
            _, own0, children0 = before[cid]["procs"][pid]
            kinds[group][name] += own - own0
            if children - children0 > 0:
                kinds[group][f"(ended children of) {name}"] += children - children0
            accounted += (own - own0) + (children - children0)
        g = groups[group]
        g["total"] += total
        g["short"] += max(0.0, total - accounted)
        g["checks"] += _health_checks(cid, elapsed)
        g["containers"] += 1

    if requests > 0 or busy:
        print(f"REFUSED: the stack was not at rest ({requests} requests through the edge, busy: {busy})")
        return 1
    all_ms = sum(g["total"] for g in groups.values())
    lines = [
        f"# make profile-idle, {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}",
        "",
        f"The stack at rest for {elapsed:.0f} s (0 requests through the edge): **{all_ms / elapsed:.1f} ms of CPU "
        "per second** in all. Per container group: its cgroup CPU; the part of it that processes which ran "
        "through the whole window account for (their own, and their children that ended and were waited "
        "for); the rest, processes that started or ended in the window and that nobody waited for (Docker's "
        "health checks above all, each a process `docker exec` starts in the container), with the number of "
        "checks in the window (the window over each container's check interval).",
        "",
        "| group | containers | ms/s | long-lived processes ms/s | short-lived ms/s | health checks "
        "| short-lived ms per check |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for group, g in sorted(groups.items(), key=lambda item: -item[1]["total"]):
        per_check = f"{g['short'] / g['checks']:.1f}" if g["checks"] else "-"
        lines.append(
            f"| {group} | {g['containers']} | {g['total'] / elapsed:.2f} | {(g['total'] - g['short']) / elapsed:.2f} "
            f"| {g['short'] / elapsed:.2f} | {g['checks']:.0f} | {per_check} |"
        )
    lines += [
        "",
        f"Outside every container, the host's Docker processes ({', '.join(stack.DOCKER_HOST_PROCESSES)}) "
        f"spent **{(docker_after - docker_before) / 1e6 / elapsed:.1f} ms/s** more (`make bench`'s `docker` "
        "tier): Docker's side of each health check (`docker exec`), and of what the containers log.",
    ]
    lines += ["", "The long-lived processes of each group above 1 ms/s, ms/s (summed over the group's containers):", ""]
    for group in sorted(groups, key=lambda name: -groups[name]["total"]):
        top = [(name, ms / elapsed) for name, ms in kinds[group].most_common() if ms / elapsed >= 1.0]
        if top:
            lines.append(f"- **{group}**: " + "; ".join(f"`{name}` {rate:.1f}" for name, rate in top))
    text = "\n".join(lines) + "\n"
    out = stack.ROOT / "bench" / "results"
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    for path in (out / f"idle-{stamp}.md", out / "idle-latest.md"):
        path.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
