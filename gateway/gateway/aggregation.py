"""What the gateway builds from all services at once: the platform's health and its OpenAPI schema."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings

from gateway.proxy import client_for
from gateway.routing import routes
from shared.errors import ApplicationError

_schema_cache: dict[str, tuple[float, dict]] = {}
SCHEMA_TTL_SECONDS = 60


def _service_health(service: str) -> dict:
    try:
        response = client_for(service).get("/health/", headers={"Accept": "application/json"})
        body = response.json()
    except (ApplicationError, ValueError) as exc:
        return {"status": "unreachable", "error": str(exc)}
    return body if isinstance(body, dict) else {"status": "unhealthy"}


def platform_health() -> tuple[dict, int]:
    """Ask every service for its health in parallel; healthy only if all of them are."""
    services = routes.upstreams()  # the ones some route goes to now
    with ThreadPoolExecutor(max_workers=len(services)) as pool:
        reports = dict(zip(services, pool.map(_service_health, services), strict=True))
    healthy = all(report.get("status") == "healthy" for report in reports.values())
    return {"status": "healthy" if healthy else "unhealthy", "services": reports}, 200 if healthy else 503


def merged_schema() -> dict:
    """One OpenAPI 3 document: the paths and components of every service's own schema, merged.

    Each service describes its endpoints with drf-spectacular; nothing is repeated here by hand.
    Kept for a minute per process, and per set of upstreams: moved routes are described at once by
    the upstreams they go to now.
    """
    upstreams = routes.upstreams()
    key = ",".join(upstreams)
    cached = _schema_cache.get(key)
    if cached and time.monotonic() - cached[0] < SCHEMA_TTL_SECONDS:
        return cached[1]
    merged: dict = {
        "openapi": "3.0.3",
        "info": {"title": settings.SPECTACULAR_SETTINGS["TITLE"], "version": settings.SPECTACULAR_SETTINGS["VERSION"]},
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {}},
    }
    for service in upstreams:
        part = client_for(service).get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"}).json()
        merged["paths"].update(part.get("paths", {}))
        for section, entries in part.get("components", {}).items():
            known = merged["components"].setdefault(section, {})
            clashes = [name for name, value in entries.items() if name in known and known[name] != value]
            if clashes:  # two services name different things alike: one would describe the other's operations
                raise ValueError(f"{service} redefines the components {clashes} of another service")
            known.update(entries)
    _schema_cache[key] = (time.monotonic(), merged)
    return merged
