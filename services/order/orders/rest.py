"""The REST adapters of the order domain's ports (clients.py): the user and product services asked over HTTP."""

from __future__ import annotations

from decimal import Decimal
from functools import cache

from shared.clients import ServiceClient
from shared.errors import NotAuthenticated, UpstreamUnavailable


@cache
def _client(service: str) -> ServiceClient:
    return ServiceClient(service)


def user_check(*, user_id: int, authorization: str) -> None:
    """The user service answers for the caller's token: its account exists and is active."""
    response = _client("user").get("/api/users/me/", headers={"Authorization": authorization})
    if response.status_code in (401, 404):
        raise NotAuthenticated("Your account is not active.")
    if response.status_code != 200:
        raise UpstreamUnavailable("The user service could not check the account.")


def products_priced(*, product_ids: list[int]) -> dict[int, dict]:
    ids = ",".join(str(i) for i in product_ids)
    response = _client("product").get("/api/products/lookup/", params={"ids": ids})
    if response.status_code != 200:
        raise UpstreamUnavailable("The product service could not price the order.")
    return {
        int(row["id"]): {"name": row["name"], "price": Decimal(row["price"]), "is_active": row["is_active"]}
        for row in response.json()["results"]
    }
