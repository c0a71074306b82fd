"""Reading series from Prometheus's HTTP API (`/api/v1/query_range`), aligned for drawing: one list of
timestamps, and per line one value or None at each of them."""

from __future__ import annotations

import math
import time

import requests
from django.conf import settings

from shared.errors import ApplicationError


class PrometheusUnavailable(ApplicationError):
    status_code = 503
    code = "prometheus_unavailable"


def query_range(query: str, *, label: str, seconds: int, step: int, scale: float = 1.0) -> dict:
    """`{"x": [t, ...], "lines": [{"name": ..., "values": [v or None, ...]}, ...]}` over the last `seconds`."""
    end = int(time.time()) // step * step
    start = end - seconds
    try:
        response = requests.get(
            f"{settings.PROMETHEUS_URL}/api/v1/query_range",
            params={"query": query, "start": start, "end": end, "step": step},
            timeout=settings.PROMETHEUS_TIMEOUT_SECONDS,
        )
        response.raise_for_status()
        result = response.json()["data"]["result"]
    except (requests.RequestException, KeyError, ValueError) as exc:
        raise PrometheusUnavailable(f"Prometheus did not answer the query: {exc.__class__.__name__}.") from exc
    x = list(range(start, end + 1, step))
    lines = []
    for series in sorted(result, key=lambda s: s["metric"].get(label, "")):
        at = {int(float(t)): _number(v, scale) for t, v in series["values"]}
        lines.append({"name": series["metric"].get(label, "?"), "values": [at.get(t) for t in x]})
    return {"x": x, "lines": lines}


def _number(raw: str, scale: float) -> float | None:
    value = float(raw)
    return None if math.isnan(value) or math.isinf(value) else round(value * scale, 4)
