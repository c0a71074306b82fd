"""The catalog: public reads over every shard, admin-only writes."""

import uuid
from decimal import Decimal

import pytest

from support import Client, assert_error, psql, server_of, wait_for


def test_catalog_pages_neither_repeat_nor_skip_and_are_in_a_stable_order():
    client = Client()
    seen = []
    for page in (1, 2, 3):
        body = client.get(f"/api/products/?page={page}&page_size=40&ordering=price").json()
        seen += body["results"]
        assert body["count"] >= 1000
    ids = [p["id"] for p in seen]
    assert len(ids) == len(set(ids)) == 120
    keys = [(Decimal(p["price"]), int(p["id"])) for p in seen]
    assert keys == sorted(keys)
    # the same first 80 again with another page size: identical
    again = client.get("/api/products/?page=1&page_size=80&ordering=price").json()["results"]
    assert [p["id"] for p in again] == ids[:80]


def test_catalog_is_gathered_from_both_shard_servers():
    page = Client().get("/api/products/?ordering=price&page_size=100").json()["results"]
    assert {server_of(p["id"]) for p in page} == {0, 1}


def test_filter_by_category_and_search():
    client = Client()
    books = client.get("/api/products/?category=books&page_size=100").json()
    assert books["count"] > 0 and {p["category"] for p in books["results"]} == {"books"}
    found = client.get("/api/products/?search=SKU-000042").json()["results"]
    assert [p["sku"] for p in found] == ["SKU-000042"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/products/?page=0",
        "/api/products/?page=abc",
        "/api/products/?page_size=1000",
        "/api/products/?ordering=drop_table",
        "/api/products/lookup/?ids=1,x",
    ],
)
def test_bad_list_parameters_are_400(path):
    assert_error(Client().get(path), 400, "validation_error")


def test_product_detail_and_unknown_product(products):
    client = Client()
    product = products[0]
    assert client.get(f"/api/products/{product['id']}/").json()["sku"] == product["sku"]
    assert_error(client.get("/api/products/999/"), 404)
    assert_error(client.get("/api/products/not-a-number/"), 404)
    assert_error(client.get("/api/products/99999999999999999999999/"), 404)


def _new_product_body(**changes) -> dict:
    body = {
        "sku": f"T-{uuid.uuid4().hex[:10]}",
        "name": "Test product",
        "category": "tools",
        "price": "12.50",
        "stock": 7,
    }
    return {**body, **changes}


def test_only_an_admin_may_write_products(user, admin, products):
    body = _new_product_body()
    assert_error(Client().post("/api/products/", json=body), 401)
    assert_error(user.client.post("/api/products/", json=body, headers=user.auth), 403, "permission_denied")
    assert_error(
        user.client.patch(f"/api/products/{products[0]['id']}/", json={"price": "1.00"}, headers=user.auth), 403
    )
    assert_error(user.client.delete(f"/api/products/{products[0]['id']}/", headers=user.auth), 403)


def test_admin_creates_updates_and_deletes_a_product(admin):
    # when
    created = admin.client.post("/api/products/", json=_new_product_body(), headers=admin.auth)
    # then: it is stored once, on the server its ID names
    assert created.status_code == 201, created.text
    product = created.json()
    home = server_of(product["id"])
    assert psql(
        f"product-db-{home}", "products", f"SELECT sku, price FROM products_product WHERE id = {product['id']}"
    ) == [[product["sku"], "12.50"]]
    assert (
        psql(f"product-db-{1 - home}", "products", f"SELECT 1 FROM products_product WHERE id = {product['id']}") == []
    )
    # update
    patched = admin.client.patch(f"/api/products/{product['id']}/", json={"price": "13.75"}, headers=admin.auth)
    assert patched.status_code == 200 and patched.json()["price"] == "13.75"
    # duplicate SKU, bad price, unknown category
    assert_error(
        admin.client.post("/api/products/", json=_new_product_body(sku=product["sku"]), headers=admin.auth), 400
    )
    assert_error(admin.client.post("/api/products/", json=_new_product_body(price="-1"), headers=admin.auth), 400)
    assert_error(admin.client.post("/api/products/", json=_new_product_body(category="nope"), headers=admin.auth), 400)
    assert_error(admin.client.patch(f"/api/products/{product['id']}/", json={"stock": -1}, headers=admin.auth), 400)
    # delete, while anonymous readers have it in the edge cache
    Client().get(f"/api/products/{product['id']}/")
    assert Client().get(f"/api/products/{product['id']}/").headers["X-Cache-Status"] == "HIT"
    assert admin.client.delete(f"/api/products/{product['id']}/", headers=admin.auth).status_code == 204
    wait_for(lambda: Client().get(f"/api/products/{product['id']}/").status_code == 404, timeout=2.0, interval=0.05)
    assert_error(Client().get(f"/api/products/{product['id']}/"), 404)


def test_a_new_product_is_listed_at_once_not_when_cached_pages_expire(admin):
    # given: a search for its SKU found nothing, and that empty page is cached (PAGE_TTL, 60 s)
    body = _new_product_body()
    client = Client()

    def found(probe: str) -> list:
        # `probe`, a parameter the API ignores, gives each request its own edge-cache key: what is
        # measured is the application's cache layers
        return client.get(f"/api/products/?search={body['sku']}&probe={probe}").json()["results"]

    assert found("before") == []
    # when
    created = admin.client.post("/api/products/", json=body, headers=admin.auth)
    assert created.status_code == 201, created.text
    # then: listed within seconds (a standby replays the insert in milliseconds; the event's second
    # drop covers a read that reached one before it did), not after the cached page's minute
    wait_for(lambda: [p["id"] for p in found(uuid.uuid4().hex)] == [created.json()["id"]], timeout=10.0, interval=0.1)


def test_seeding_again_changes_nothing():
    from support import compose, process_of

    def counts():
        return [
            psql(f"product-db-{n}", "products", "SELECT count(*) FROM products_product WHERE sku LIKE 'SKU-%'")
            for n in (0, 1)
        ]

    before = counts()
    out = compose("exec", "-T", *process_of("product"), "python", "manage.py", "seed_catalog")
    assert "0 new products" in out
    assert counts() == before
    assert sum(int(c[0][0]) for c in before) >= 1000
    assert "already there" in compose("exec", "-T", *process_of("user"), "python", "manage.py", "seed_admin")
