"""Events the user service consumes: confirmed orders feed each user's order statistics."""

from decimal import Decimal

from django.db.models import F

from shared.db import shards
from shared.events.consumers import consumer
from shared.events.inbox import inbox
from users.models import User


@consumer("order.confirmed")
def on_order_confirmed(envelope: dict) -> None:
    payload = envelope["payload"]
    user_id = int(payload["user_id"])
    alias = shards.primary_for_id(user_id)
    with inbox(envelope, using=alias) as fresh:
        if fresh:
            User.objects.using(alias).filter(id=user_id).update(
                orders_count=F("orders_count") + 1, orders_total=F("orders_total") + Decimal(payload["total"])
            )
