"""What the order domain asks the user and product domains: two ports, each with two adapters.

The functions here are the ports the order code calls. Which adapter answers is the setting
`ORDER_DEPENDENCIES`: `orders.rest` in the order service (the user and product services over REST), or
`monolith.adapters` in the monolith (the same domains' code in the same process, no network). The order
code does not know which.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from types import ModuleType

from django.conf import settings


@cache
def _adapter() -> ModuleType:
    return import_module(settings.ORDER_DEPENDENCIES)


def user_check(*, user_id: int, authorization: str) -> None:
    """The caller's account exists and is active; NotAuthenticated if not, UpstreamUnavailable if unknown."""
    _adapter().user_check(user_id=user_id, authorization=authorization)


def products_priced(*, product_ids: list[int]) -> dict[int, dict]:
    """Current name, price (Decimal) and active flag of each product that exists, by ID (never the client's)."""
    return _adapter().products_priced(product_ids=product_ids)
