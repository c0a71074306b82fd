"""The in-process adapters of the order domain's ports (orders/clients.py): in the monolith, the order code
asks the user and product domains' own selectors in the same process, each run for its domain (its data
tier), where the order service asks the user and product services over REST (orders/rest.py).

The answers are the REST adapters': a user who is gone or inactive is NotAuthenticated; a product is
priced from the product domain's rows, never from the client.
"""

from __future__ import annotations

from products.selectors import products_by_ids
from shared import domains
from shared.errors import NotAuthenticated, NotFound
from users.selectors import user_get


def user_check(*, user_id: int, authorization: str) -> None:
    # the token was verified where the request came in; the account behind it must still be active
    with domains.use("user"):
        try:
            user_get(user_id=user_id)
        except NotFound:
            raise NotAuthenticated("Your account is not active.") from None


def products_priced(*, product_ids: list[int]) -> dict[int, dict]:
    with domains.use("product"):
        products = products_by_ids(product_ids=product_ids)
    return {
        product.id: {"name": product.name, "price": product.price, "is_active": product.is_active}
        for product in products
    }
