"""The order service: orders on their owner's shard, priced over REST by the user and product services."""

from shared.settings.environ import env
from shared.settings.sharded import *  # noqa: F403
from shared.settings.sharded import INSTALLED_APPS

SERVICE_NAME = "order"
INSTALLED_APPS = [*INSTALLED_APPS, "orders"]
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS, "TITLE": "order service"}  # noqa: F405
ORDER_MAX_ITEMS = 50
SHARDED_MODELS = [("orders.Order", "id"), ("orders.OrderItem", "order_id"), ("orders.OrderStatusChange", "order_id")]
# The services it calls (orders/clients.py): user checks the caller's account, product prices the items
SERVICE_URLS = {
    "user": env("USER_SERVICE_URL", "http://user:8000"),
    "product": env("PRODUCT_SERVICE_URL", "http://product:8000"),
}
