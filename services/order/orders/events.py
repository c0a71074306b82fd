"""Events the order service consumes: each handler hands the event to one service function."""

from orders import services
from shared.events.consumers import consumer


@consumer("stock.reserved")
def on_stock_reserved(envelope: dict) -> None:
    services.order_confirm(envelope=envelope)


@consumer("stock.rejected")
def on_stock_rejected(envelope: dict) -> None:
    services.order_reject(envelope=envelope)


@consumer("user.deleted")
def on_user_deleted(envelope: dict) -> None:
    services.order_archive_for_user(envelope=envelope)
