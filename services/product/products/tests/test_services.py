from decimal import Decimal

import pytest

from products.models import Product
from products.selectors import product_count, product_get, product_list, products_by_ids
from products.services.catalog import category_ensure, product_create, product_update, products_bulk_create
from shared.db import ids, shards
from shared.db.counts import Count
from shared.errors import ApplicationError, NotFound

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(autouse=True)
def categories():
    category_ensure(slug="tools", name="Tools")
    category_ensure(slug="books", name="Books")


def _rows(n, category="tools"):
    return [
        {"sku": f"S-{i:04d}", "name": f"P {i}", "category_id": category, "price": Decimal(i % 9) + 1, "stock": 3}
        for i in range(n)
    ]


def test_bulk_create_spreads_products_over_both_servers_and_is_idempotent():
    assert products_bulk_create(rows=_rows(200)) == 200
    assert products_bulk_create(rows=_rows(200)) == 0
    counts = {alias: Product.objects.using(alias).count() for alias in shards.primaries()}
    assert sum(counts.values()) == 200 and min(counts.values()) > 50
    for alias in shards.primaries():
        for product in Product.objects.using(alias).all():
            assert shards.primary_for_id(product.id) == alias


def test_list_is_one_stable_order_over_both_servers():
    products_bulk_create(rows=_rows(90))
    pages = [product_list(ordering="price", page=n, page_size=20) for n in (1, 2, 3, 4, 5)]
    seen = [(p.price, p.id) for page in pages for p in page.items]
    assert len(seen) == 90 and seen == sorted(seen)
    assert [page.has_next for page in pages] == [True, True, True, True, False]


def test_filters():
    products_bulk_create(rows=_rows(10) + [{**r, "sku": "B" + r["sku"]} for r in _rows(5, "books")])
    assert product_count(category="books") == Count(5, is_estimate=False)
    assert [p.sku for p in product_list(search="S-0003").items] == ["S-0003"]


def test_create_checks_category_and_unique_sku():
    product = product_create(sku="ONE", name="One", price=Decimal("2.50"), category="tools")
    assert ids.shard_of(product.id) == shards.shard_for_natural_key("ONE")
    with pytest.raises(ApplicationError):
        product_create(sku="one", name="Dup", price=Decimal("1"), category="tools")
    with pytest.raises(ApplicationError):
        product_create(sku="TWO", name="Two", price=Decimal("1"), category="nope")


def test_update_and_inactive_products_are_hidden():
    product = product_create(sku="UPD", name="U", price=Decimal("1.00"), category="tools")
    product_update(product_id=product.id, price=Decimal("3.00"), is_active=False)
    with pytest.raises(NotFound):
        product_get(product_id=product.id)
    assert product_get(product_id=product.id, include_inactive=True).price == Decimal("3.00")
    assert [p.id for p in products_by_ids(product_ids=[product.id, 12345])] == [product.id]
