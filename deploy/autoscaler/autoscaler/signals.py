"""The signals a decision reads, per service: from Prometheus (PromQL in the policy file) and from Docker.

CPU and memory come from the Docker Engine API (the containers' cgroup counters): `cpu_percent` is the
CPU the service's replicas used since the last loop, on average per replica, in percent of one core;
`memory_percent` the average of each replica's memory in use over its limit (the host's memory when
the container has none). Every other signal is the PromQL query the policy file gives it, with
`{service}` replaced by the compose service name (and the service's other `labels`, e.g. `{queue}`),
and `<signal>_per_replica` is its value over the running replicas; a query that returns nothing (no traffic yet, an
exporter not running) is a signal with no value, which `policy.Condition` treats as neither high nor
in the way of scaling down.
"""

from __future__ import annotations

import json
import logging
import math
import time
import urllib.parse
import urllib.request

from autoscaler.docker_api import Docker

logger = logging.getLogger(__name__)


FROM_DOCKER = ("cpu_percent", "memory_percent")  # read for every service (and exported: the recording rules use them)


class Prometheus:
    def __init__(self, url: str, timeout: float = 5.0):
        self.url, self.timeout = url.rstrip("/"), timeout

    def value(self, query: str) -> float | None:
        """The query's one value now (the sum, if it returns several series), or None."""
        address = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": query})
        try:
            with urllib.request.urlopen(address, timeout=self.timeout) as response:  # noqa: S310 - our URL
                result = json.load(response)["data"]["result"]
        except (OSError, ValueError, KeyError) as exc:
            logger.warning("prometheus query failed (%s): %s", exc, query)
            return None
        values = [float(series["value"][1]) for series in result]
        values = [v for v in values if not math.isnan(v)]
        return sum(values) if values else None


class ContainerUsage:
    """CPU per replica of one service between two loops, from each container's cumulative CPU time."""

    def __init__(self, docker: Docker):
        self.docker = docker
        self._last: dict[str, tuple[float, float]] = {}  # container ID: (time, CPU ns)

    def of(self, containers: list[dict]) -> dict[str, float | None]:
        cpu, memory = [], []
        now = time.monotonic()
        for container in containers:
            used, in_use, limit = self.docker.cpu_and_memory(container["Id"])
            before = self._last.get(container["Id"])
            self._last[container["Id"]] = (now, used)
            if before is not None and now > before[0]:
                cpu.append((used - before[1]) / 1e9 / (now - before[0]) * 100)
            if limit:
                memory.append(in_use / limit * 100)
        known = {c["Id"] for c in containers}
        self._last = {k: v for k, v in self._last.items() if k in known}
        return {
            "cpu_percent": sum(cpu) / len(cpu) if cpu else None,
            "memory_percent": sum(memory) / len(memory) if memory else None,
        }


def read(
    labels: dict[str, str], queries: dict[str, str], replicas: list[dict], prometheus: Prometheus, usage: ContainerUsage
) -> dict[str, float | None]:
    """Every signal of a service now: each query with the service's `labels` ({service}, {queue}...) put
    in, and its value over the running replicas as `<name>_per_replica`."""
    signals = usage.of(replicas)
    for name, query in queries.items():
        for label, value in labels.items():
            query = query.replace("{" + label + "}", value)
        signals[name] = value = prometheus.value(query)
        signals[f"{name}_per_replica"] = value / len(replicas) if value is not None and replicas else None
    return signals
