"""The product admin (`/ops/admin/product/<server>/`): reached with the staff session the user service
vouches for, one shard server per site, changes through the catalog service and the API's rules."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import pytest
from django.test import Client

from products.models import Product
from products.services.catalog import category_ensure, product_create
from shared.db import shards
from shared.events.models import OutboxEvent
from shared.staff.testing import answer

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def products() -> dict[str, Product]:
    """A product on each shard server."""
    category_ensure(slug="tools", name="Tools")
    by_server: dict[str, Product] = {}
    for n in range(40):
        product = product_create(sku=f"ADM-{n}", name=f"Tool {n}", price=Decimal("5.00"), category="tools", stock=3)
        by_server.setdefault(shards.primary_for_id(product.id), product)
        if len(by_server) == len(shards.primaries()):
            return by_server
    raise AssertionError("40 SKUs did not reach every shard server")


def _change_url(product: Product) -> str:
    return f"/ops/admin/product/{shards.primary_for_id(product.id)}/products/product/{product.id}/change/"


def _form(client: Client, url: str) -> dict:
    page = client.get(url)
    assert page.status_code == 200, page.content[:300]
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1).decode()
    return {"csrfmiddlewaretoken": token}


def test_without_a_staff_session_every_page_sends_to_the_staff_sign_in(user_service):
    # given: no cookie, then a cookie the user service knows no staff session for
    user_service.return_value = answer(401, {"error": {"code": "not_authenticated"}})
    home = shards.home_primary()
    for cookies in ({}, {"ops_session": uuid.uuid4().hex}):
        client = Client()
        client.cookies.load(cookies)
        # when
        to_home = client.get("/ops/admin/product/")
        to_login = client.get(to_home["Location"])
        to_sign_in = client.get(to_login["Location"])
        # then: the bare prefix -> the home server's site -> its login -> the one staff sign-in, and back
        assert to_home["Location"] == f"/ops/admin/product/{home}/"
        assert to_login.status_code == 302 and "/login/" in to_login["Location"]
        assert to_sign_in.status_code == 302
        assert to_sign_in["Location"].startswith("/ops/login/?next=")
        assert f"%2Fops%2Fadmin%2Fproduct%2F{home}%2F" in to_sign_in["Location"]


def test_a_change_list_shows_the_products_of_its_server_only(staff, products):
    for alias, product in products.items():
        # when
        page = staff.get(f"/ops/admin/product/{alias}/products/product/")
        # then
        assert page.status_code == 200
        body = page.content.decode()
        assert product.sku in body
        assert all(other.sku not in body for other_alias, other in products.items() if other_alias != alias)
        assert {"private", "no-store"} <= set(page["Cache-Control"].replace(" ", "").split(","))


def test_a_change_goes_through_the_catalog_service_on_the_products_server(staff, products):
    # given
    product = next(iter(products.values()))
    alias = shards.primary_for_id(product.id)
    url = _change_url(product)
    form = _form(staff, url)
    # when: a new price and name, and an attempt at the read-only stock and SKU
    form |= {"name": "Renamed", "description": "", "price": "7.25", "is_active": "on", "stock": "999", "sku": "X"}
    response = staff.post(url, form)
    # then
    assert response.status_code == 302, re.findall(rb'<ul class="errorlist[^>]*>.*?</ul>', response.content, re.S)
    row = Product.objects.using(alias).get(id=product.id)
    assert (row.name, row.price, row.stock, row.sku) == ("Renamed", Decimal("7.25"), 3, product.sku)
    # and: as an API change, it published product.updated on that server (which drops every cache layer)
    assert (
        OutboxEvent.objects.using(alias)
        .filter(event_type="product.updated", envelope__payload__product_id=str(product.id))
        .exists()
    )


@pytest.mark.parametrize(
    ("field", "value"), [("price", "-1.00"), ("price", "123456789.00"), ("name", "bell\x07"), ("name", "nul\x00")]
)
def test_a_change_the_api_would_refuse_is_refused_and_nothing_is_written(staff, products, field, value):
    # given
    product = next(iter(products.values()))
    url = _change_url(product)
    form = _form(staff, url) | {"name": product.name, "description": "", "price": "5.00", "is_active": "on"}
    # when
    response = staff.post(url, form | {field: value})
    # then: the form again, with the error; the row unchanged
    assert response.status_code == 200
    assert b"errornote" in response.content or b"errorlist" in response.content
    row = Product.objects.using(shards.primary_for_id(product.id)).get(id=product.id)
    assert (row.name, row.price) == (product.name, Decimal("5.00"))


def test_a_form_from_another_origin_is_a_json_403(staff, products):
    product = next(iter(products.values()))
    url = _change_url(product)
    form = _form(staff, url) | {"name": "X", "description": "", "price": "5.00"}
    response = staff.post(url, form, HTTP_ORIGIN="http://evil.example")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"


def test_nothing_is_added_or_deleted_here(staff, products):
    product = next(iter(products.values()))
    alias = shards.primary_for_id(product.id)
    assert staff.get(f"/ops/admin/product/{alias}/products/product/add/").status_code == 403
    form = _form(staff, _change_url(product))
    deleted = staff.post(f"/ops/admin/product/{alias}/products/product/{product.id}/delete/", form | {"post": "yes"})
    assert deleted.status_code == 403 and deleted.json()["error"]["code"] == "permission_denied"
    assert Product.objects.using(alias).filter(id=product.id).exists()


def test_search_finds_a_product_by_its_exact_sku_or_id(staff, products):
    alias = shards.home_primary()
    product = products[alias]
    for term in (product.sku, product.sku.lower(), f" {product.id} "):
        response = staff.get(f"/ops/admin/product/{alias}/products/product/", {"q": term})
        assert response.status_code == 200
        assert set(re.findall(r"ADM-\d+", response.content.decode())) == {product.sku}


@pytest.mark.parametrize("term", ["ADM", "²", "1" * 40, "a\x07b", "%", "' or 1=1", "-1"])
def test_any_other_search_finds_nothing_and_never_fails(staff, products, term):
    response = staff.get(f"/ops/admin/product/{shards.home_primary()}/products/product/", {"q": term})
    assert response.status_code == 200
    body = response.content.decode()
    assert re.findall(r"ADM-\d+", body) == [], body[body.find("ADM-") - 300 : body.find("ADM-") + 100]


def test_a_search_with_a_nul_character_is_refused_by_djangos_search_form(staff, products):
    response = staff.get(f"/ops/admin/product/{shards.home_primary()}/products/product/", {"q": "a\x00b"})
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.content.decode()


def test_the_user_service_unavailable_is_a_json_503(staff, user_service):
    user_service.return_value = answer(500)
    response = staff.get(f"/ops/admin/product/{shards.home_primary()}/")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "upstream_unavailable" and response["Retry-After"] == "5"


def test_the_answer_is_kept_a_few_seconds_and_signing_out_ends_the_session_there(staff, user_service):
    index = f"/ops/admin/product/{shards.home_primary()}/"
    form = _form(staff, index)
    assert staff.get(index).status_code == 200
    assert user_service.call_count == 1  # two pages, one question
    # when
    response = staff.post(f"{index}logout/", form)
    # then
    assert response.status_code == 302 and response["Location"] == "/ops/login/"
    assert user_service.call_args_list[-1].args[0] == "DELETE"
    user_service.return_value = answer(401)
    assert staff.get(index).status_code == 302  # asked again, and no longer staff
