"""Each scenario's preconditions: a scenario whose load did not do what it claims is INVALID.

A check returns the list of problems it found (empty when the scenario holds). `make bench` prints
INVALID with the problems beside such a scenario, leaves its figures out of every ratio, and exits
non-zero.
"""

from __future__ import annotations

# X-Cache-Status values meaning the edge answered from its cache without asking the gateway
CACHE_SERVED = ("HIT", "STALE", "UPDATING", "REVALIDATED")


def no_errors(load: dict) -> list[str]:
    problems = []
    if load.get("socket_errors"):
        problems.append(f"{load['socket_errors']} socket errors")
    failed = {status: n for status, n in load["status"].items() if not status.startswith("2")}
    if failed:
        problems.append(f"non-2xx answers {failed}")
    return problems


def _served_from_cache(load: dict) -> int:
    return sum(load["cache"].get(verdict, 0) for verdict in CACHE_SERVED)


def no_edge_hits(load: dict) -> list[str]:
    hits = _served_from_cache(load)
    return [f"{hits} answers came from the edge cache"] if hits else []


def edge_bypassed(load: dict) -> list[str]:
    """Run inside the network against a service: no answer may carry the edge's header."""
    seen = {verdict: n for verdict, n in load["cache"].items() if verdict != "none"}
    return [f"the edge was on the path {seen}"] if seen else []


def mostly_edge_hits(load: dict, *, at_least: float = 0.99) -> list[str]:
    total = sum(load["cache"].values())
    share = _served_from_cache(load) / total if total else 0.0
    return [] if share >= at_least else [f"only {share:.1%} edge hits (needs {at_least:.0%})"]


def spread_over(load: dict, replicas: int, *, at_least: float = 0.1) -> list[str]:
    """Every one of `replicas` service replicas answered at least `at_least` of the requests."""
    total = sum(load["served_by"].values())
    shares = {name: n / total for name, n in load["served_by"].items() if total}
    busy = [name for name, share in shares.items() if share >= at_least]
    if len(busy) < replicas:
        return [f"{len(busy)} of {replicas} replicas answered at least {at_least:.0%} each ({load['served_by']})"]
    return []


def generator_kept_up(result: dict, *, slack_ms: float = 50.0) -> list[str]:
    """The open-loop generator sent every request within `slack_ms` of when it was due."""
    lag = result["dispatch_lag_ms"]
    return [f"the generator fell {lag} ms behind its schedule"] if lag > slack_ms else []


def all_confirmed(statuses: dict[str, int], placed: int) -> list[str]:
    confirmed = statuses.get("confirmed", 0)
    if confirmed != placed:
        return [f"{confirmed} of {placed} placed orders confirmed ({statuses})"]
    return []
