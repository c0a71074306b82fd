"""The catalog list, walked with cursors through the API over both shard servers: every product once, in
order, whatever is added meanwhile; counts labelled exact or estimated; page numbers still answer;
a cursor the service did not give out is a 400."""

import contextlib
from decimal import Decimal

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from products import selectors
from products.models import Product
from products.services.catalog import category_ensure, product_create, products_bulk_create
from shared.cache import layered
from shared.db import keyset, shards

pytestmark = pytest.mark.django_db(databases="__all__")
NAMES = ["lamp", "Lamp", "älg", "Zebra", "desk", "Desk lamp", "a", "b"]


@pytest.fixture(autouse=True)
def fresh_cache():
    layered.l1.clear()  # each test's catalog is new: no page of an earlier test's
    yield
    layered.l1.clear()


@pytest.fixture
def walk_products() -> list[Product]:
    """25 active products of category `walk` on both servers, with equal prices and names among them."""
    category_ensure(slug="walk", name="Walk")
    category_ensure(slug="other", name="Other")
    rows = [
        {
            "sku": f"WALK-{n:03d}",
            "name": f"{NAMES[n % len(NAMES)]} {n % 3}",
            "category_id": "walk",
            "price": Decimal(n % 4) + Decimal("0.50"),
        }
        for n in range(25)
    ]
    hidden = [
        {**rows[0], "sku": "WALK-HIDDEN", "is_active": False},
        {**rows[1], "sku": "OTHER-1", "category_id": "other"},
    ]
    products_bulk_create(rows=rows + hidden)
    made = [p for alias in shards.primaries() for p in Product.objects.using(alias).filter(sku__startswith="WALK-0")]
    assert {shards.primary_for_id(p.id) for p in made} == set(shards.primaries())
    return made


def _get(query: str) -> dict:
    response = APIClient().get(f"/api/products/?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def _walk(query: str, between_pages=lambda body: None) -> list[dict]:
    bodies = [_get(query)]
    while bodies[-1]["next"]:
        between_pages(bodies[-1])
        bodies.append(_get(f"{query}&cursor={bodies[-1]['next']}"))
    return bodies


def _expected(products: list[Product], ordering: str) -> list[str]:
    names, descending = keyset.directions(selectors.ORDERINGS[ordering])
    ordered = sorted(products, key=lambda p: tuple(getattr(p, name) for name in names), reverse=descending)
    return [str(p.id) for p in ordered]


@pytest.mark.parametrize("ordering", list(selectors.ORDERINGS))
def test_cursors_walk_every_product_once_in_the_order_asked(walk_products, ordering):
    # when
    bodies = _walk(f"category=walk&ordering={ordering}&page_size=4")
    # then: 7 pages of 4, 4, ... 1, the last without a next cursor; numbered only the first
    assert [len(body["results"]) for body in bodies] == [4, 4, 4, 4, 4, 4, 1]
    assert [row["id"] for body in bodies for row in body["results"]] == _expected(walk_products, ordering)
    assert (bodies[0]["page"], bodies[0]["next_page"]) == (1, 2)
    assert all(body["page"] is None and body["next_page"] is None for body in bodies[1:])
    assert bodies[-1]["next"] is None


def test_products_added_between_pages_do_not_disturb_the_walk(walk_products):
    # given: products added after each page, one cheaper than anything listed so far (behind the walk)
    # and one dearer than anything (ahead of it)
    added_behind, added_ahead = [], []

    def add_products(body):
        n = len(added_behind)
        added_behind.append(product_create(sku=f"B-{n}", name="behind", price=Decimal("0.01"), category="walk").id)
        added_ahead.append(product_create(sku=f"A-{n}", name="ahead", price=Decimal("99"), category="walk").id)

    # when
    bodies = _walk("category=walk&ordering=price&page_size=5", add_products)
    # then: the first products each once and in order, then the ones added ahead; none of those behind
    walked = [row["id"] for body in bodies for row in body["results"]]
    assert walked == _expected(walk_products, "price") + sorted(str(i) for i in added_ahead)
    assert not set(walked) & {str(i) for i in added_behind}


def test_small_counts_are_exact(walk_products):
    body = _get("category=walk&page_size=1")
    assert (body["count"], body["count_is_estimate"]) == (25, False)
    assert (_get("search=walk-007")["count"], _get("search=walk-007")["count_is_estimate"]) == (1, False)


def test_a_first_page_that_holds_every_match_is_its_own_count(walk_products):
    # when: a search whose matches all fit on the first page, then one whose matches do not
    with contextlib.ExitStack() as stack:
        captured = [stack.enter_context(CaptureQueriesContext(connections[alias])) for alias in shards.primaries()]
        fits = _get("search=walk-007&page_size=10")
        spills = _get("category=walk&page_size=10")
    statements = [query["sql"] for capture in captured for query in capture.captured_queries]
    # then: the first counted from its page, with no count statement; the second counted on its own
    assert (fits["count"], fits["count_is_estimate"], fits["next"]) == (1, False, None)
    assert (spills["count"], spills["count_is_estimate"]) == (25, False) and spills["next"]
    counts = [sql for sql in statements if "COUNT(" in sql.upper()]
    assert counts and not any("WALK-007" in sql.upper() for sql in counts), counts


def test_page_numbers_still_answer_the_bounded_slow_way(walk_products):
    # when
    by_number = [_get(f"category=walk&ordering=-price&page_size=10&page={n}") for n in (1, 2, 3)]
    # then
    assert [row["id"] for body in by_number for row in body["results"]] == _expected(walk_products, "-price")
    assert [body["next_page"] for body in by_number] == [2, 3, None]
    # and: the same position as the cursor walk's (a cursor is signed with the second it was made in)
    walked = _walk("category=walk&ordering=-price&page_size=10")[1]["next"]
    assert by_number[1]["next"].rsplit(":", 2)[0] == walked.rsplit(":", 2)[0]


def test_a_cursor_keeps_its_ordering(walk_products):
    # given
    first = _get("category=walk&ordering=name&page_size=3")
    # when: the cursor alone, or with its own ordering again
    alone = _get(f"category=walk&page_size=3&cursor={first['next']}")
    same = _get(f"category=walk&ordering=name&page_size=3&cursor={first['next']}")
    # then
    assert alone["results"] == same["results"] == _walk("category=walk&ordering=name&page_size=3")[1]["results"]


def test_a_search_shorter_than_three_characters_matches_skus_only(walk_products):
    product_create(sku="LA", name="Short sku", price=Decimal("1.00"), category="other")
    assert [row["sku"] for row in _get("search=la")["results"]] == ["LA"]
    # "lamp", "Lamp" and "Desk lamp": 10 in `walk`, 1 in `other` (the inactive one is not listed)
    assert len(_get("search=lam&page_size=100")["results"]) == 11


def _tampered(token: str) -> str:
    middle = len(token) // 2
    return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]


def test_a_cursor_the_service_did_not_give_out_is_a_400(walk_products):
    token = _get("category=walk&ordering=price&page_size=3")["next"]
    foreign = keyset.Keyset(name="orders", model=Product, orderings=selectors.ORDERINGS).cursor(
        "price", walk_products[0]
    )
    for query, field in [
        (f"cursor={_tampered(token)}", "cursor"),
        ("cursor=not-a-cursor", "cursor"),
        (f"cursor={foreign}", "cursor"),
        (f"cursor={'x' * 1001}", "cursor"),
        (f"cursor={token}&page=2", "cursor"),
        (f"cursor={token}&ordering=name", "ordering"),
    ]:
        response = APIClient().get(f"/api/products/?{query}")
        assert response.status_code == 400, (query, response.content)
        assert response.json()["error"]["code"] == "validation_error"
        assert set(response.json()["error"]["fields"]) == {field}, query
