"""Periodic work of the order worker."""

import logging

from celery import shared_task

from orders.services import order_expire_pending

logger = logging.getLogger(__name__)


@shared_task(name="orders.expire_pending", ignore_result=True, expires=30)
def expire_pending_orders():
    """Reject the orders pending for longer than ORDER_PENDING_TIMEOUT_SECONDS ("timed out")."""
    expired = order_expire_pending()
    if expired:
        logger.info("rejected %s orders pending for too long", expired)
