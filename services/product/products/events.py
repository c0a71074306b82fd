"""Events the product service consumes: stock reservation for the order saga, and cache drops."""

from products.caching import product_caches_drop
from products.services import stock
from shared.events.consumers import consumer


@consumer("order.placed")
def on_order_placed(envelope: dict) -> None:
    stock.stock_reserve_for_order(envelope)


@consumer("order.cancelled")
def on_order_cancelled(envelope: dict) -> None:
    stock.stock_release_for_order(envelope)


@consumer("product.updated")
def on_product_updated(envelope: dict) -> None:
    """Drop the product everywhere; a purge the edge did not confirm raises, so the event is retried."""
    product_caches_drop(product_id=int(envelope["payload"]["product_id"]), edge=True)
