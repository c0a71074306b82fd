"""Pytest fixtures for the admin of a service without accounts: the user service's answers, faked.

# in the tests' conftest.py:
from shared.staff.testing import staff, user_service  # noqa: F401
"""

from __future__ import annotations

import json
import uuid
from unittest import mock

import pytest
import urllib3
from django.test import Client

from shared.clients import ServiceResponse

STAFF = {"id": "42", "email": "ops@example.com", "name": "Ops"}


def answer(status: int, body: dict | None = None) -> ServiceResponse:
    """What the user service answers to `GET /internal/staff-session/`."""
    return ServiceResponse(status, urllib3.HTTPHeaderDict(), json.dumps(body or {}).encode())


@pytest.fixture
def user_service():
    """`shared.staff.remote._ask`, answering that the cookie's session is a staff member's unless a test
    sets another `return_value`."""
    with mock.patch("shared.staff.remote._ask", return_value=answer(200, STAFF)) as ask:
        yield ask


@pytest.fixture
def local_cache(settings):
    """A cache that works (the unit tests' default cache is an address where no Redis answers): the
    user service's answers are kept there."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex}
    }


@pytest.fixture
def staff(user_service, local_cache) -> Client:
    """A browser with a staff session's cookie, checked for CSRF as a browser is."""
    client = Client(enforce_csrf_checks=True)
    client.cookies["ops_session"] = uuid.uuid4().hex
    return client
