"""Events the product service consumes: stock reservation for the order saga, and cache drops."""

from products import services
from shared.events.consumers import consumer


@consumer("order.placed")
def on_order_placed(envelope: dict) -> None:
    services.stock_reserve_for_order(envelope)


@consumer("order.cancelled")
def on_order_cancelled(envelope: dict) -> None:
    services.stock_release_for_order(envelope)


@consumer("product.updated")
def on_product_updated(envelope: dict) -> None:
    services.product_caches_drop(product_id=int(envelope["payload"]["product_id"]))
