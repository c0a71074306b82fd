"""`GET /health/`: is this service able to do its work?  `GET /health/live/`: is this process up?

    {"status": "healthy"|"degraded"|"unhealthy", "service": "product",  (the monolith: one per domain)
     "database": {"db0": "ok", "db0_replica": "ok", ...}, "cache": "ok",
     "servers": {"db0": {"leader": "product-db-0", "standbys": [{"member": "product-db-0-replica",
                 "state": "streaming", "sync_state": "sync", "replay_lag_seconds": 0.0}]}, ...}}

Each alias is asked who leads and who stands by (shared/db/roles.py) instead of a bare `SELECT 1`: the
same one statement per alias, and `servers` says, per shard server, which member leads and how its
standby streams (after a failover, `-replica` may lead).

A primary that does not answer makes the service unhealthy (503): it cannot write. A replica or the
cache that does not answer makes it degraded (200): reads fall back to the primary and the cache is
bypassed, so the service still answers.

`/health/live/` checks nothing beyond the process answering: an orchestrator that replaces what fails
its check (Swarm's health check, Kubernetes' liveness probe) must not restart every replica because a
database or the cache is down; readiness is `/health/`.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import JsonResponse

from shared import domains
from shared.db import roles, shards


def _check_database(alias: str, sql: str = "SELECT 1") -> tuple[str, list[tuple]]:
    try:
        return "ok", roles.rows(alias, sql)
    except Exception as exc:  # noqa: BLE001 - any failure is reported, not raised
        connections[alias].close()
        return f"error: {exc.__class__.__name__}", []


def _check_cache() -> str:
    key = f"health:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", timeout=5)
        return "ok" if cache.get(key) == "1" else "error: value not read back"
    except Exception as exc:  # noqa: BLE001
        return f"error: {exc.__class__.__name__}"


def _ask_every_alias() -> tuple[dict[str, str], dict[str, dict]]:
    """Every alias's state, and per shard server who leads and who stands by."""
    topology = shards.topology()
    sql = {primary: roles.STANDBYS_SQL for primary in topology}
    sql |= {replica: roles.LEADER_SQL for server in topology.values() for replica in server.replicas}
    aliases = [alias for primary, server in topology.items() for alias in (primary, *server.replicas)]
    answers = {alias: _check_database(alias, sql.get(alias, "SELECT 1")) for alias in aliases}
    servers = {
        primary: roles.describe(answers[primary][1], [row for r in server.replicas for row in answers[r][1]])
        for primary, server in topology.items()
    }
    return {alias: state for alias, (state, _) in answers.items()}, servers


def _domain_report() -> tuple[dict, bool]:
    """The current domain's report, and whether all its primaries answer."""
    databases, servers = _ask_every_alias()
    cache_state = _check_cache()
    primaries_ok = all(databases[alias] == "ok" for alias in shards.primaries())
    everything_ok = primaries_ok and cache_state == "ok" and all(v == "ok" for v in databases.values())
    status = "healthy" if everything_ok else ("degraded" if primaries_ok else "unhealthy")
    body = {"status": status, "service": domains.current(), "database": databases, "cache": cache_state}
    body["servers"] = servers
    return body, primaries_ok


def health_report() -> tuple[dict, int]:
    """A service's report; the monolith's is each domain's, under `domains`, and the worst status of them."""
    if not domains.is_monolith():
        body, primaries_ok = _domain_report()
        return body, 200 if primaries_ok else 503
    reports = {}
    for domain in domains.names():
        with domains.use(domain):
            reports[domain] = _domain_report()
    worst = min((body["status"] for body, _ in reports.values()), key=["unhealthy", "degraded", "healthy"].index)
    body = {"status": worst, "service": settings.SERVICE_NAME, "domains": {d: b for d, (b, _) in reports.items()}}
    return body, 200 if all(ok for _, ok in reports.values()) else 503


def health_view(request):
    body, status = health_report()
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


def live_view(request):
    """Liveness: 200 while this process serves requests; no dependency is asked."""
    response = JsonResponse({"status": "alive", "service": settings.SERVICE_NAME})
    response["Cache-Control"] = "no-store"
    return response
