"""orders/clients.py: the order code asks its ports; the adapter that answers is the one the settings name."""

from __future__ import annotations

import sys
import types
from decimal import Decimal

import pytest

from orders import clients, rest


@pytest.fixture
def adapter(settings, monkeypatch):
    calls = []
    fake = types.ModuleType("in_process_adapter")
    fake.user_check = lambda **kwargs: calls.append(("user_check", kwargs))
    fake.products_priced = lambda **kwargs: calls.append(("products_priced", kwargs)) or {7: {"price": Decimal("1")}}
    monkeypatch.setitem(sys.modules, "in_process_adapter", fake)
    settings.ORDER_DEPENDENCIES = "in_process_adapter"
    clients._adapter.cache_clear()
    yield calls
    clients._adapter.cache_clear()


def test_the_ports_are_answered_by_the_adapter_the_settings_name(adapter):
    clients.user_check(user_id=5, authorization="Bearer x")
    assert clients.products_priced(product_ids=[7]) == {7: {"price": Decimal("1")}}
    assert adapter == [
        ("user_check", {"user_id": 5, "authorization": "Bearer x"}),
        ("products_priced", {"product_ids": [7]}),
    ]


def test_the_order_service_answers_them_over_rest_by_default():
    clients._adapter.cache_clear()
    assert clients._adapter() is rest
