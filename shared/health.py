"""`GET /health/`: is this service able to do its work?  `GET /health/live/`: is this process up?

    {"status": "healthy"|"degraded"|"unhealthy", "service": "product",
     "database": {"db0": "ok", "db0_replica": "ok", ...}, "cache": "ok"}

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

from shared.db import shards


def _check_database(alias: str) -> str:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # noqa: BLE001 - any failure is reported, not raised
        connections[alias].close()
        return f"error: {exc.__class__.__name__}"


def _check_cache() -> str:
    key = f"health:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", timeout=5)
        return "ok" if cache.get(key) == "1" else "error: value not read back"
    except Exception as exc:  # noqa: BLE001
        return f"error: {exc.__class__.__name__}"


def health_report() -> tuple[dict, int]:
    databases = {alias: _check_database(alias) for alias in connections if alias != "default"}
    cache_state = _check_cache()
    primaries_ok = all(databases[alias] == "ok" for alias in shards.primaries())
    everything_ok = primaries_ok and cache_state == "ok" and all(v == "ok" for v in databases.values())
    status = "healthy" if everything_ok else ("degraded" if primaries_ok else "unhealthy")
    body = {"status": status, "service": settings.SERVICE_NAME, "database": databases, "cache": cache_state}
    return body, 200 if primaries_ok else 503


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
