"""gateway/routing.py: the routes file sends path prefixes to another upstream at run time, and only valid ones."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from gateway import routing


def _touch_later(path) -> None:
    """A new modification time even on a file system with coarse timestamps."""
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 1))


def test_without_a_routes_file_the_configured_routes_hold(routes_file, settings):
    assert routing.Routes().table() == list(settings.GATEWAY_ROUTES)
    assert routing.Routes().upstreams() == ["order", "product", "user"]


def test_a_prefix_moves_to_another_upstream_and_back_without_a_restart(routes_file):
    routes = routing.Routes()
    routing.write(dict.fromkeys(("/api/products/", "/api/orders/"), "monolith"))
    table = dict(routes.table())
    assert (table["/api/products/"], table["/api/orders/"], table["/api/users/"]) == ("monolith", "monolith", "user")
    routing.write({"/api/orders/": "monolith"})  # the catalog taken out of the monolith
    _touch_later(routes_file)
    assert dict(routes.table())["/api/products/"] == "product"
    assert routes.upstreams() == ["monolith", "order", "product", "user"]  # the order admin is the order service's
    routes_file.unlink()
    assert dict(routes.table())["/api/orders/"] == "order"


@pytest.mark.parametrize(
    "content",
    ['{"/api/products/": "nowhere"}', '{"/api/other/": "product"}', '["/api/products/"]', '{"/api/products/": '],
)
def test_a_bad_routes_file_leaves_the_routes_as_they_were(routes_file, content):
    routes = routing.Routes()
    routing.write({"/api/products/": "monolith"})
    assert dict(routes.table())["/api/products/"] == "monolith"
    routes_file.write_text(content)
    _touch_later(routes_file)
    assert dict(routes.table())["/api/products/"] == "monolith"


def test_writing_a_bad_route_is_refused_and_changes_nothing(routes_file):
    with pytest.raises(routing.RoutesFileError):
        routing.write({"/api/products/": "nowhere"})
    assert not routes_file.exists()


def test_the_command_sets_one_prefix_every_prefix_or_none(routes_file, capsys):
    assert routing.main(["set", "/api/products/", "monolith"]) == 0
    assert dict(routing.Routes().table())["/api/products/"] == "monolith"
    assert routing.main(["all", "monolith"]) == 0
    assert routing.Routes().upstreams() == ["monolith"]
    assert routing.main(["reset"]) == 0
    assert routing.Routes().upstreams() == ["order", "product", "user"]
    assert routing.main(["set", "/api/products/"]) == 2
    assert routing.main(["set", "/api/products/", "nowhere"]) == 2  # refused in one line, nothing written
    assert "routes not changed: unknown upstream 'nowhere'" in capsys.readouterr().err
    assert routing.Routes().upstreams() == ["order", "product", "user"]


def test_threads_that_ask_while_the_file_is_first_read_wait_for_it(routes_file, monkeypatch):
    routing.write(dict.fromkeys(("/api/products/",), "monolith"))
    checked = routing._checked

    def slowly(overrides):
        time.sleep(0.2)
        return checked(overrides)

    monkeypatch.setattr(routing, "_checked", slowly)
    monkeypatch.setattr(routing, "ROUTES_CHECK_SECONDS", 60.0)
    routes = routing.Routes()
    with ThreadPoolExecutor(max_workers=8) as pool:
        seen = list(pool.map(lambda _: dict(routes.table())["/api/products/"], range(8)))
    assert seen == ["monolith"] * 8  # none routed by the configured table while the first read ran
