"""The gateway's `/health/live/` is the shared liveness view: 200 JSON without asking any service."""

from django.test import Client


def test_live_answers_without_asking_the_services(monkeypatch):
    monkeypatch.setattr("gateway.aggregation.platform_health", lambda: (_ for _ in ()).throw(AssertionError))
    response = Client().get("/health/live/")
    assert response.status_code == 200
    assert response.json() == {"status": "alive", "service": "gateway"}
