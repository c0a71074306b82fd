"""What the product service caches (a product, a catalog page) is JSON: IDs and prices as strings."""

import json
from decimal import Decimal

import pytest

from products.caching import product_detail_data, product_page_data
from products.services.catalog import category_ensure, product_create
from shared.cache import to_json

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def product():
    category_ensure(slug="tools", name="Tools")
    return product_create(sku="JSON-1", name="Lamp", price=Decimal("19.90"), category="tools", stock=4)


def test_a_cached_product_is_plain_json(product):
    data = product_detail_data(product_id=product.id)
    assert json.loads(to_json(data)) == data
    assert data["id"] == str(product.id) and data["price"] == "19.90"


def test_a_cached_catalog_page_is_plain_json(product):
    data = product_page_data(category=None, search=None, ordering="name", page_size=20)
    assert json.loads(to_json(data)) == data
    assert [row["id"] for row in data["results"]] == [str(product.id)]
