"""`/health/live/`: liveness answers 200 JSON from the process alone, even with every dependency down."""

from django.db import connections
from django.test import Client


def test_live_answers_without_asking_any_dependency(monkeypatch, settings):
    # given: every database and the cache fail when asked
    def refuse(*args, **kwargs):
        raise AssertionError("a liveness check must not ask a dependency")

    for alias in connections:
        monkeypatch.setattr(connections[alias], "cursor", refuse)
    monkeypatch.setattr("shared.health._check_cache", refuse)
    # when
    response = Client().get("/health/live/")
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "alive", "service": settings.SERVICE_NAME}
    assert response["Cache-Control"] == "no-store"
