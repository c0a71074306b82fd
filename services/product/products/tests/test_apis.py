"""The product endpoints' query parameters: validated by each API's FilterSerializer, 400 when bad."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from products.services.catalog import category_ensure, product_create

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.mark.parametrize("query", ["page=0", "page=abc", "page_size=1000", "ordering=drop_table"])
def test_bad_list_parameters_are_400(query):
    # when
    response = APIClient().get(f"/api/products/?{query}")
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert set(response.json()["error"]["fields"]) == {query.split("=")[0]}


def test_list_ignores_unknown_parameters_and_takes_an_empty_value_as_sent():
    # given
    category_ensure(slug="tools", name="Tools")
    product_create(sku="LIST-1", name="Listed", price=Decimal("1.00"), category="tools")
    # when: an empty search (text may be empty) and a parameter the list does not know
    response = APIClient().get("/api/products/?search=&probe=1")
    # then
    assert response.status_code == 200
    assert [row["sku"] for row in response.json()["results"]] == ["LIST-1"]
    # and: an empty value where the schema allows none is refused, as the schema says (params.query)
    for query in ("ordering=", "page="):
        refused = APIClient().get(f"/api/products/?{query}")
        assert refused.status_code == 400 and set(refused.json()["error"]["fields"]) == {query[:-1]}


def test_lookup_returns_the_products_among_the_ids_active_or_not():
    # given
    category_ensure(slug="tools", name="Tools")
    active = product_create(sku="LOOK-1", name="A", price=Decimal("1.00"), category="tools")
    hidden = product_create(sku="LOOK-2", name="H", price=Decimal("2.00"), category="tools", is_active=False)
    # when
    response = APIClient().get(f"/api/products/lookup/?ids={active.id},{hidden.id},12345")
    # then
    assert response.status_code == 200
    assert sorted(row["id"] for row in response.json()["results"]) == sorted([str(active.id), str(hidden.id)])


@pytest.mark.parametrize("query", ["", "ids=", "ids=1,x", "ids=²", "ids=" + ",".join(["1"] * 101)])
def test_bad_lookup_ids_are_400(query):
    # when
    response = APIClient().get(f"/api/products/lookup/?{query}")
    # then
    assert response.status_code == 400
    assert response.json()["error"]["fields"].keys() == {"ids"}
