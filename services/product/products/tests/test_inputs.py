"""Hostile input to the product endpoints is a 400 (or 404 for a path ID) with field errors, and stores nothing."""

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from products import apis
from products.models import Product
from products.services.catalog import category_ensure
from shared.db import shards
from shared.http.fields import plain_input_fields

pytestmark = pytest.mark.django_db(databases="__all__")
GOOD = {"sku": "HOST-1", "name": "Lamp", "category": "tools", "price": "19.90", "stock": 10}


@pytest.fixture
def admin() -> APIClient:
    category_ensure(slug="tools", name="Tools")
    token = AccessToken()
    token["user_id"] = "1"
    token["is_staff"] = True
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _stored() -> int:
    return sum(Product.objects.using(alias).count() for alias in shards.primaries())


def test_every_input_serializer_uses_the_platform_fields():
    assert plain_input_fields(apis) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"price": "\u0661\u0669.\u0669\u0660"}, "price"),  # Arabic-Indic digits
        ({"stock": "\uff11\uff10"}, "stock"),  # fullwidth digits
        ({"stock": 2**31}, "stock"),  # beyond the integer column
        ({"price": "123456789.00"}, "price"),  # beyond max_digits 10, decimal_places 2
        ({"name": "Lamp\x00"}, "name"),
        ({"name": "Lamp\x1b[31m"}, "name"),
        ({"description": "bad\x7f"}, "description"),
    ],
)
def test_create_refuses_hostile_fields_and_stores_nothing(admin, change, field):
    # when
    response = admin.post("/api/products/", {**GOOD, **change}, format="json")
    # then
    assert response.status_code == 400, response.content
    assert set(response.json()["error"]["fields"]) == {field}
    assert _stored() == 0


def test_a_body_nested_thousands_deep_is_a_400(admin):
    # when
    response = admin.post("/api/products/", "[" * 50_000 + "]" * 50_000, content_type="application/json")
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"
    assert _stored() == 0


@pytest.mark.parametrize("query", ["page=\u0662", "page_size=\uff15", "search=a\x01b", "category=a\x00b"])
def test_hostile_list_parameters_are_400(query):
    response = APIClient().get("/api/products/", {query.split("=")[0]: query.split("=")[1]})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {query.split("=")[0]}


@pytest.mark.parametrize("product_id", ["\u0661\u0662", "\uff11", "9" * 5000])
def test_hostile_path_ids_are_404(product_id):
    response = APIClient().get(f"/api/products/{product_id}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
