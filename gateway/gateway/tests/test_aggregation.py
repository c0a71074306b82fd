"""gateway/aggregation.py: the merged OpenAPI schema follows the routes and is the same bytes in any order."""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace

import pytest

from gateway import aggregation, routing

SCHEMAS = {
    "user": {"paths": {"/api/users/me/": {"get": {}}}, "components": {"schemas": {"User": {"type": "object"}}}},
    "product": {"paths": {"/api/products/": {"get": {}}}, "components": {"schemas": {"Product": {"type": "object"}}}},
    "order": {"paths": {"/api/orders/": {"get": {}}}, "components": {"schemas": {"Order": {"type": "object"}}}},
}
# the monolith describes every domain's paths in one document, in an order of its own
_DOMAINS = ("order", "user", "product")
SCHEMAS["monolith"] = {
    "paths": {path: operations for name in _DOMAINS for path, operations in SCHEMAS[name]["paths"].items()},
    "components": {
        "schemas": {key: value for name in _DOMAINS for key, value in SCHEMAS[name]["components"]["schemas"].items()}
    },
}


class _Upstream:
    def __init__(self, name: str, asked: list[str]) -> None:
        self.name, self.asked = name, asked

    def get(self, path, headers=None):
        self.asked.append(self.name)
        return SimpleNamespace(json=lambda: copy.deepcopy(SCHEMAS[self.name]))


@pytest.fixture
def asked(monkeypatch, routes_file):
    asked: list[str] = []
    monkeypatch.setattr(aggregation, "client_for", lambda name: _Upstream(name, asked))
    monkeypatch.setattr(aggregation, "_schema_cache", {})
    monkeypatch.setattr(aggregation, "routes", routing.Routes())  # of its own: the process' routes stay as they are
    return asked


def _published(client) -> bytes:
    response = client.get("/api/schema/")
    assert response.status_code == 200
    return response.content


def test_the_schema_is_the_same_bytes_from_the_services_or_the_monolith(client, asked, settings):
    from_services = _published(client)
    assert sorted(asked) == ["order", "product", "user"]
    routing.write({prefix: "monolith" for prefix, _ in settings.GATEWAY_ROUTES})
    # asked of the monolith at once (the cache is per set of upstreams), and the same document byte for byte
    assert _published(client) == from_services
    assert asked[-1] == "monolith"
    assert json.loads(from_services)["paths"].keys() == {"/api/users/me/", "/api/products/", "/api/orders/"}
