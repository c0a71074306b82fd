"""What the benchmark reads from the running stack: containers, their CPU time, SQL statements.

CPU time comes from each container's cgroup counter (cgroup v1 `cpuacct.usage` or v2 `cpu.stat`),
so it is what the kernel charged the container, whatever else runs on the machine. Containers are
grouped by tier (`group_of`). What the containers make Docker do on the host is a tier of its own,
`docker` (`docker_host_ns`): docker-proxy carrying every connection to a port published on
127.0.0.1, each container's shim and dockerd reading and storing what it logs, and health checks.
SQL statements are PgBouncer's `total_query_count` summed over every pool of every service (`SHOW
STATS` on its admin console): every statement the applications send.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("user", "product", "order")


def compose(*args: str, env: dict | None = None, timeout: int = 600) -> str:
    done = subprocess.run(
        ["docker", "compose", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"docker compose {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True, timeout=120).stdout


def project() -> str:
    return json.loads(compose("config", "--format", "json"))["name"]


def group_of(service: str) -> str:
    """The tier a compose service is counted in."""
    if service.endswith("-pgbouncer"):
        return "pgbouncer"
    if re.search(r"-db-\d+(-replica)?$", service) or service == "test-db":
        return "postgres"
    if service.startswith("redis-"):
        return "redis"
    return service


def containers() -> dict[str, str]:
    """Full container ID -> compose service, for every running container of the project."""
    out = subprocess.run(
        [
            "docker",
            "ps",
            "--no-trunc",
            "--filter",
            f"label=com.docker.compose.project={project()}",
            "--format",
            '{{.ID}} {{.Label "com.docker.compose.service"}}',
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(line.split(" ", 1) for line in out.splitlines() if line.strip())


def _cpu_ns(container_id: str) -> int | None:
    v1 = Path(f"/sys/fs/cgroup/cpuacct/docker/{container_id}/cpuacct.usage")
    if v1.exists():
        return int(v1.read_text())
    for v2 in (
        Path(f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/cpu.stat"),
        Path(f"/sys/fs/cgroup/docker/{container_id}/cpu.stat"),
    ):
        if v2.exists():
            usage = re.search(r"^usage_usec (\d+)", v2.read_text(), re.M)
            return int(usage.group(1)) * 1000
    return None


# the host's Docker processes (/proc/<pid>/comm, which keeps 15 characters)
DOCKER_HOST_PROCESSES = ("dockerd", "containerd", "containerd-shim", "docker-proxy")
DOCKER_HOST = "host"  # their pseudo container ID in a CpuSnapshot, counted as the service `docker`


def docker_host_ns() -> int:
    """CPU nanoseconds used so far by the host's Docker processes (user and system time). They are
    outside every container's cgroup, yet a request through a published port, a line a container
    logs and a health check each cost CPU there."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended
            continue
        if text[text.index("(") + 1 : text.rindex(")")] in DOCKER_HOST_PROCESSES:
            fields = text[text.rindex(")") + 2 :].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


class CpuSnapshot:
    """CPU nanoseconds used so far by every container of the project, keyed by container ID, and by
    the host's Docker processes (`DOCKER_HOST`)."""

    def __init__(self) -> None:
        self.service = containers()
        self.ns = {cid: ns for cid in self.service if (ns := _cpu_ns(cid)) is not None}
        if not self.ns:
            raise RuntimeError("no cgroup CPU counters found for the stack's containers")
        self.service[DOCKER_HOST] = "docker"
        self.ns[DOCKER_HOST] = docker_host_ns()

    def by_group_since(self, before: CpuSnapshot) -> dict[str, float]:
        """CPU milliseconds per tier used between `before` and this snapshot (containers in both)."""
        used: dict[str, float] = {}
        for cid, ns in self.ns.items():
            if cid in before.ns:
                group = group_of(self.service[cid])
                used[group] = used.get(group, 0.0) + (ns - before.ns[cid]) / 1e6
        return used


def pgbouncer_statements() -> int:
    """Statements sent through every service's PgBouncer so far (all pools, all servers)."""
    total = 0
    for service in SERVICES:
        out = compose(
            "exec",
            "-T",
            f"{service}-pgbouncer",
            "sh",
            "-c",
            'PGPASSWORD="$PGBOUNCER_ADMIN_PASSWORD" psql -h 127.0.0.1 -p 6432 -U pgbouncer_admin -d pgbouncer'
            ' -A -F "|" -c "SHOW STATS"',
        )
        lines = [line for line in out.splitlines() if "|" in line]
        header = lines[0].split("|")
        column = header.index("total_query_count")
        total += sum(int(row.split("|")[column]) for row in lines[1:] if row.split("|")[0] != "pgbouncer")
    return total


def psql(container: str, database: str, sql: str) -> str:
    return compose("exec", "-T", container, "psql", "-U", "postgres", "-d", database, "-tAc", sql).strip()


def _memory_bytes(container_id: str) -> int | None:
    """Anonymous memory (RSS) of a container: what its processes hold, not the page cache it read."""
    for path, key in (
        (Path(f"/sys/fs/cgroup/memory/docker/{container_id}/memory.stat"), "total_rss"),
        (Path(f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/memory.stat"), "anon"),
        (Path(f"/sys/fs/cgroup/docker/{container_id}/memory.stat"), "anon"),
    ):
        if path.exists():
            found = re.search(rf"^{key} (\d+)", path.read_text(), re.M)
            return int(found.group(1)) if found else None
    return None


def memory_mb_by_group() -> dict[str, float]:
    """Resident memory in MB per tier, summed over its containers."""
    used: dict[str, float] = {}
    for cid, service in containers().items():
        if (rss := _memory_bytes(cid)) is not None:
            group = group_of(service)
            used[group] = round(used.get(group, 0.0) + rss / 2**20, 1)
    return dict(sorted(used.items()))


def slow_statements_since(since: float) -> list[str]:
    """The statements the shard servers logged as slow (log_min_duration_statement) since `since` (Unix
    time), each as `<service>: <log line>`."""
    found = []
    for cid, service in containers().items():
        if group_of(service) == "postgres":
            logs = subprocess.run(
                ["docker", "logs", "--since", str(int(since)), cid], capture_output=True, text=True, timeout=60
            )
            found += [f"{service}: {line}" for line in (logs.stdout + logs.stderr).splitlines() if "duration:" in line]
    # in the order they were logged (each line starts with its time), not server by server: the first
    # lines of a report are then a sample of all servers, not the first server's
    return sorted(found, key=lambda line: line.partition(": ")[2][:23])


class OrderStatuses:
    """How many of a user's orders are in each status, over both order servers, asked through one psql
    session per server that stays open (`with OrderStatuses(user_id) as orders: orders.now()`).

    A scenario polls this inside its measured window until its orders are confirmed: a `docker compose
    exec psql` per poll would charge each poll's exec (dockerd, the shim, a psql process and a backend
    in the container) to the orders' CPU. Open before the window, a poll costs one query.
    """

    SERVERS = ("order-db-0", "order-db-1")
    END = "__end__"

    def __init__(self, user_id: str) -> None:
        self.sql = f"SELECT status, count(*) FROM orders_order WHERE user_id = {int(user_id)} GROUP BY status;"
        self.sessions: list[subprocess.Popen] = []

    def __enter__(self) -> OrderStatuses:
        for server in self.SERVERS:
            command = ["docker", "compose", "exec", "-T", server, "psql", "-U", "postgres", "-d", "orders", "-tAq"]
            self.sessions.append(
                subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            )
        return self

    def __exit__(self, *exc) -> None:
        for session in self.sessions:
            session.stdin.close()
            session.wait(timeout=30)

    def now(self) -> dict[str, int]:
        statuses: dict[str, int] = {}
        for session in self.sessions:
            session.stdin.write(f"{self.sql}\n\\echo {self.END}\n")
            session.stdin.flush()
            while (line := session.stdout.readline()) and line.strip() != self.END:
                status, count = line.strip().split("|")
                statuses[status] = statuses.get(status, 0) + int(count)
            if not line:
                raise RuntimeError(f"psql ended: {session.args}")
        return statuses


def order_statuses(user_id: str) -> dict[str, int]:
    """`OrderStatuses` asked once."""
    with OrderStatuses(user_id) as orders:
        return orders.now()
