"""The policy file (deploy/autoscaler/policy.yml) read into `policy.ServicePolicy` objects."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from autoscaler.policy import Condition, Direction, Policy, ServicePolicy

_OPS = (">=", "<=", ">", "<")


@dataclass(frozen=True)
class Config:
    interval_seconds: float
    queries: dict[str, str]  # signal name: PromQL with {service} and the service's own `labels`
    services: dict[str, ServicePolicy]
    labels: dict[str, dict[str, str]]  # per service: more placeholders of its queries (e.g. its queue)


def _condition(text: str) -> Condition:
    for op in _OPS:
        if op in text:
            signal, threshold = (part.strip() for part in text.split(op, 1))
            return Condition(signal, op, float(threshold))
    raise ValueError(f"a condition is `<signal> <op> <number>`, not {text!r}")


def _direction(data: dict) -> Direction:
    policies = tuple(Policy(p["type"], int(p["value"]), float(p["period_seconds"])) for p in data["policies"])
    if not policies or any(p.kind not in ("Percent", "Pods") for p in policies):
        raise ValueError(f"policies are Percent or Pods: {data['policies']!r}")
    select = data.get("select", "Max")
    if select not in ("Max", "Min"):
        raise ValueError(f"select is Max or Min, not {select!r}")
    return Direction(float(data["stabilization_seconds"]), policies, select)


def _service(name: str, data: dict, known_signals: set[str]) -> ServicePolicy:
    policy = ServicePolicy(
        service=name,
        min_replicas=int(data["min_replicas"]),
        max_replicas=int(data["max_replicas"]),
        up_when=tuple(_condition(c) for c in data["up_when"]),
        down_when=tuple(_condition(c) for c in data["down_when"]),
        up=_direction(data["behavior"]["scale_up"]),
        down=_direction(data["behavior"]["scale_down"]),
        up_needs=int(data.get("up_needs", 2)),
    )
    if not 1 <= policy.min_replicas <= policy.max_replicas:
        raise ValueError(f"{name}: 1 <= min_replicas <= max_replicas")
    unknown = {c.signal for c in (*policy.up_when, *policy.down_when)} - known_signals
    if unknown:
        raise ValueError(f"{name}: unknown signals {sorted(unknown)}")
    return policy


def load(path: Path) -> Config:
    data = yaml.safe_load(path.read_text())
    queries = dict(data.get("queries", {}))
    # each query's value over the running replicas is `<name>_per_replica` (signals.read)
    known = {"cpu_percent", "memory_percent", *queries, *(f"{name}_per_replica" for name in queries)}
    services = {name: _service(name, spec, known) for name, spec in data["services"].items()}
    labels = {name: {k: str(v) for k, v in spec.get("labels", {}).items()} for name, spec in data["services"].items()}
    return Config(float(data.get("interval_seconds", 10)), queries, services, labels)
