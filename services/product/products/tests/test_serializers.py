"""ProductOutputSerializer's own to_representation gives exactly what DRF's generic path gives."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from rest_framework import serializers

from products.models import Product
from products.serializers import ProductOutputSerializer

MOMENT = datetime(2026, 12, 7, 20, 0, 0, 123456, tzinfo=UTC)


def _product(**fields) -> Product:
    values = {
        "id": 1_234_567_890_123_456_789,
        "sku": "SKU-1",
        "name": "lamp 1",
        "description": "A lamp.",
        "category_id": "books",
        "price": Decimal("19.99"),
        "stock": 5,
        "is_active": True,
        "created_at": MOMENT,
        "updated_at": MOMENT,
    }
    return Product(**(values | fields))


PRODUCTS = [
    _product(),
    _product(id=1, sku="", name="Café ☕ «x»", description="", is_active=False, stock=0, price=Decimal("0.00")),
    _product(price=Decimal("99999999.99"), stock=2_147_483_647),
    _product(price=Decimal("1.5")),  # not yet quantized (a value set in memory): "1.50"
    _product(created_at=MOMENT.replace(microsecond=0), updated_at=MOMENT + timedelta(days=400)),
    _product(created_at=MOMENT.astimezone(timezone(timedelta(hours=5, minutes=45)))),  # given back in UTC
]


def _generic(product: Product) -> dict:
    return dict(serializers.Serializer.to_representation(ProductOutputSerializer(), product))


@pytest.mark.parametrize("product", PRODUCTS)
def test_one_product_is_what_drf_gives(product):
    assert ProductOutputSerializer(product).data == _generic(product)


def test_a_page_is_what_drf_gives_in_the_fields_order():
    page = ProductOutputSerializer(PRODUCTS, many=True).data
    assert [dict(row) for row in page] == [_generic(product) for product in PRODUCTS]
    assert [list(row) for row in page] == [list(ProductOutputSerializer().fields)] * len(PRODUCTS)
    assert page[3]["price"] == "1.50" and page[5]["created_at"] == "2026-12-07T20:00:00.123456Z"
