"""Cursor pagination of the catalog through nginx: a category made for the run is walked page by page
with `next` in every ordering, with no product repeated or missing, while products are added between
pages; a cursor the service did not give out is a JSON 400."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from support import Client, assert_error, compose, process_of, psql, server_of, wait_for

ORDERINGS = ["-created", "created", "price", "-price", "name", "-name"]
NAMES = ["Lamp", "lamp", "Kettle", "Desk lamp", "Atlas", "Zebra toy"]
PRODUCTS = 23
PAGE_SIZE = 5


def _manage_shell(code: str) -> None:
    compose("exec", "-T", *process_of("product"), "python", "manage.py", "shell", "-c", code)


class Category:
    """A category made for one test, its products created by the admin, all removed afterwards."""

    def __init__(self, admin):
        self.admin = admin
        self.slug = f"pages-{uuid.uuid4().hex[:10]}"
        self.products: list[dict] = []
        _manage_shell(
            "from products.services.catalog import category_ensure; "
            f"category_ensure(slug={self.slug!r}, name='Pagination test')"
        )

    def add(self, *, name: str, price: str) -> dict:
        body = {"sku": f"PG-{uuid.uuid4().hex[:12]}", "name": name, "category": self.slug, "price": price, "stock": 1}
        response = self.admin.client.post("/api/products/", json=body, headers=self.admin.auth)
        assert response.status_code == 201, response.text
        self.products.append(response.json())
        return response.json()

    def wait_for_replicas(self) -> None:
        """Until both shard servers' standbys hold every product made so far (anonymous reads go there)."""
        expected = {n: sum(server_of(p["id"]) == n for p in self.products) for n in (0, 1)}
        sql = f"SELECT count(*) FROM products_product WHERE category_id = '{self.slug}'"
        wait_for(
            lambda: all(int(psql(f"product-db-{n}-replica", "products", sql)[0][0]) == expected[n] for n in (0, 1)),
            timeout=30,
        )

    def remove(self) -> None:
        for product in self.products:
            self.admin.client.delete(f"/api/products/{product['id']}/", headers=self.admin.auth)
        _manage_shell(
            "from products.models import Category; from shared.db import shards; "
            f"[Category.objects.using(alias).filter(slug={self.slug!r}).delete() for alias in shards.primaries()]"
        )


def _filled(admin) -> Category:
    made = Category(admin)
    for n in range(PRODUCTS):
        made.add(name=f"{NAMES[n % len(NAMES)]} {n % 4}", price=f"{10 + n % 5}.50")  # equal prices and names
    made.wait_for_replicas()
    return made


@pytest.fixture(scope="module")
def walked_category(admin):
    """A category that the tests only read."""
    made = _filled(admin)
    yield made
    made.remove()


@pytest.fixture
def category(admin):
    """A category of one test, which adds products to it."""
    made = _filled(admin)
    yield made
    made.remove()


def _sorted_ids(products: list[dict], ordering: str) -> list[str]:
    def key(product: dict) -> tuple:
        by = {"created": (), "price": (Decimal(product["price"]),), "name": (product["name"],)}[ordering.lstrip("-")]
        return (*by, int(product["id"]))

    return [p["id"] for p in sorted(products, key=key, reverse=ordering.startswith("-"))]


def _page(client: Client, params: dict) -> dict:
    response = client.get("/api/products/", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _walk(client: Client, params: dict, between_pages=lambda: None) -> list[dict]:
    pages = [_page(client, params)]
    while pages[-1]["next"] is not None:
        assert len(pages) <= PRODUCTS, "the walk does not end"
        between_pages()
        pages.append(_page(client, {**params, "cursor": pages[-1]["next"]}))
    return pages


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_cursors_walk_every_product_of_a_category_once_in_order(walked_category, ordering):
    category = walked_category
    # when
    pages = _walk(Client(), {"category": category.slug, "ordering": ordering, "page_size": PAGE_SIZE})
    # then: full pages but the last, every product once, in the order asked for, then no next cursor
    assert [len(page["results"]) for page in pages] == [5, 5, 5, 5, 3]
    walked = [row["id"] for page in pages for row in page["results"]]
    assert walked == _sorted_ids(category.products, ordering)
    assert {row["category"] for page in pages for row in page["results"]} == {category.slug}
    assert pages[-1]["next"] is None
    # the count of a small result is counted, not estimated
    assert (pages[0]["count"], pages[0]["count_is_estimate"]) == (PRODUCTS, False)


def test_products_added_between_page_requests_neither_repeat_nor_hide_a_product(category):
    # given: between two pages, the admin adds one product cheaper than any (behind the walk, by price)
    # and one dearer than any (ahead of it)
    originals = list(category.products)
    behind, ahead = [], []

    def add_products():
        behind.append(category.add(name="Added behind", price="0.01")["id"])
        ahead.append(category.add(name="Added ahead", price="999.00")["id"])

    # when
    pages = _walk(Client(), {"category": category.slug, "ordering": "price", "page_size": PAGE_SIZE}, add_products)
    # then: every original product once and in order; nothing from behind; what came from ahead (as soon
    # as a standby has it) only after all of them, in order too
    walked = [row["id"] for page in pages for row in page["results"]]
    assert len(walked) == len(set(walked))
    assert walked[:PRODUCTS] == _sorted_ids(originals, "price")
    assert not set(walked) & set(behind)
    assert walked[PRODUCTS:] == sorted(walked[PRODUCTS:], key=int) and set(walked[PRODUCTS:]) <= set(ahead)


def test_newer_products_added_during_a_walk_newest_first_stay_out_of_it(category):
    # given: newest first, products added after the first page are newer than any page still to come
    originals = list(category.products)
    added = []
    # when
    pages = _walk(
        Client(),
        {"category": category.slug, "page_size": PAGE_SIZE},
        lambda: added.append(category.add(name="Newer", price="1.00")["id"]),
    )
    # then: exactly the products that were there, each once, newest first
    assert [row["id"] for page in pages for row in page["results"]] == _sorted_ids(originals, "-created")
    assert len(added) == len(pages) - 1


def _tampered(token: str) -> str:
    middle = len(token) // 2
    return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]


def test_a_tampered_or_made_up_cursor_is_a_json_400(walked_category):
    client = Client()
    token = _page(client, {"category": walked_category.slug, "ordering": "price", "page_size": PAGE_SIZE})["next"]
    assert token
    for params, field in [
        ({"cursor": _tampered(token)}, "cursor"),
        ({"cursor": token[:-3]}, "cursor"),
        ({"cursor": "eyJvIjoicHJpY2UiLCJrIjpbIjEuMDAiLDFdfQ"}, "cursor"),  # a position, unsigned
        ({"cursor": token, "page": 2}, "cursor"),
        ({"cursor": token, "ordering": "name"}, "ordering"),
    ]:
        error = assert_error(client.get("/api/products/", params=params), 400, "validation_error")
        assert set(error["fields"]) == {field}, params
