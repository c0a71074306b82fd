"""shared/domains.py: one domain per service, any of several in the monolith, each with its own data tier."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from shared import domains
from shared.db import mapstore, shards
from shared.db.routers import ShardRouter
from shared.db.shardmap import ShardMap, ShardServer
from shared.events import consumers


def _tier(domain: str) -> dict:
    topology = {f"{domain}_db0": ShardServer(f"{domain}_db0", {f"{domain}_db0_replica": 1})}
    return {"SHARD_TOPOLOGY": topology, "SHARD_MAP": ShardMap.even(list(topology), 4)}


MONOLITH = {
    "user": {"APPS": ["users", "ops"], **_tier("user"), "SHARDED_MODELS": [("users.User", "id")], "QUERY_PLANS": "u"},
    "order": {"APPS": ["orders"], **_tier("order"), "SHARDED_MODELS": [], "QUERY_PLANS": "o"},
}
monolith = override_settings(DOMAINS=MONOLITH, DOMAIN_PATHS=[("/api/users/", "user"), ("/api/orders/", "order")])


def test_a_service_is_its_own_one_domain_and_reads_its_own_settings(settings):
    assert not domains.is_monolith()
    assert domains.current() == settings.SERVICE_NAME == "product"
    assert domains.names() == ["product"]
    assert domains.setting("SHARD_TOPOLOGY") is settings.SHARD_TOPOLOGY
    assert domains.alias_of("db1") == "db1" and domains.server_name("db1") == "db1"
    assert domains.of_module("orders.events") == "product" and domains.owns_app("orders")
    with pytest.raises(domains.NoDomain):
        domains.enter("order")  # a service knows no other domain


@monolith
def test_in_the_monolith_code_runs_for_the_domain_it_entered_and_only_then():
    with pytest.raises(domains.NoDomain):
        domains.current()
    with domains.use("order"):
        assert domains.current() == "order"
        assert list(shards.topology()) == ["order_db0"]
        assert domains.setting("QUERY_PLANS") == "o"
        with domains.use("user"):  # a call into another domain, and back
            assert shards.home_primary() == "user_db0"
        assert shards.home_primary() == "order_db0"
    with pytest.raises(domains.NoDomain):
        domains.current()


@monolith
def test_the_shard_map_names_servers_as_a_service_does_and_the_monolith_prefixes_them():
    with domains.use("order"):
        assert domains.server_name("order_db1") == "db1"  # what a move writes to the shard map's rows
        assert domains.alias_of("db1") == "order_db1"  # what the monolith reads back from them
        assert domains.server_name("db1") == "db1"


@monolith
def test_each_app_belongs_to_one_domain_whose_servers_alone_get_its_tables():
    assert domains.of_module("orders.events") == "order"
    assert domains.of_module("ops.views") == "user"
    router = ShardRouter()
    with domains.use("order"):
        assert router.allow_migrate("order_db0", "orders")
        assert router.allow_migrate("order_db0", "events")  # shared apps: every domain has its own outbox
        assert not router.allow_migrate("order_db0", "users")
        assert not router.allow_migrate("user_db0", "orders")  # another domain's server


@monolith
def test_cache_keys_are_the_services_own_so_a_service_that_takes_a_domain_over_shares_them():
    with domains.use("order"):
        assert domains.cache_key("orders:7", "monolith", 2) == "order:2:orders:7"


@monolith
def test_a_request_runs_for_the_domain_of_its_path_and_other_paths_for_none():
    seen = []

    def view(request):
        try:
            seen.append(domains.current())
        except domains.NoDomain:
            seen.append(None)
        return HttpResponse()

    middleware = domains.DomainMiddleware(view)
    for path in ("/api/orders/1/", "/api/users/me/", "/health/"):
        middleware(RequestFactory().get(path))
    assert seen == ["order", "user", None]


@monolith
def test_each_domain_has_its_own_handler_of_an_event_type(monkeypatch):
    monkeypatch.setattr(consumers, "_handlers", {})
    consumers.consumer("order.confirmed")(_handler_in("users.events", "user's"))
    consumers.consumer("order.confirmed")(_handler_in("orders.events", "order's"))
    for domain, expected in (("user", "user's"), ("order", "order's")):
        with domains.use(domain):
            assert consumers.handler_for("order.confirmed")({}) == expected


@monolith
def test_each_domain_reads_its_own_shard_map_changes(monkeypatch):
    store = mapstore.MapStore()
    read = {"user": [(0, "db9", False, None)], "order": []}  # a move on the user servers only
    monkeypatch.setattr(store, "_reload", lambda loaded: _fake_reload(loaded, read[domains.current()]))
    with domains.use("user"):
        assert store.current().server_of(0) == "user_db9"
    with domains.use("order"):
        assert store.current().server_of(0) == "order_db0"


def _fake_reload(loaded, rows) -> None:
    loaded.at = float("inf")
    loaded.overrides = ({s: domains.alias_of(server) for s, server, _, _ in rows}, frozenset())


def _handler_in(module: str, answer: str):
    def handler(envelope):
        return answer

    handler.__module__ = module
    return handler
