"""Events the user service consumes: each handler hands the event to one service function."""

from shared.events.consumers import consumer
from users import services


@consumer("order.confirmed")
def on_order_confirmed(envelope: dict) -> None:
    services.user_stats_record(envelope=envelope)
