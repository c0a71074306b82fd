"""Hostile input to the user endpoints is a 400 with field errors, and stores nothing."""

import pytest
from rest_framework.test import APIClient

from shared.db import shards
from shared.http.fields import plain_input_fields
from users import apis
from users.models import User

pytestmark = pytest.mark.django_db(databases="__all__")
PASSWORD = "correct-horse-battery-9"


def test_every_input_serializer_uses_the_platform_fields():
    assert plain_input_fields(apis) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "Ann\x00"}, "name"),
        ({"name": "Ann\x07"}, "name"),
        ({"email": '"ann\x01"@example.com'}, "email"),
        ({"password": PASSWORD + "\x1b"}, "password"),
    ],
)
def test_register_refuses_control_characters_and_stores_nothing(change, field):
    # when
    body = {"email": "ann@example.com", "password": PASSWORD, "name": "Ann", **change}
    response = APIClient().post("/api/auth/register/", body, format="json")
    # then
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert sum(User.objects.using(alias).count() for alias in shards.primaries()) == 0


def test_a_body_nested_thousands_deep_is_a_400():
    response = APIClient().post(
        "/api/auth/login/", '{"email": ' + "[" * 50_000 + "]" * 50_000 + "}", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"
