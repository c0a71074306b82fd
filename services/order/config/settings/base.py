"""The order service: orders on their owner's shard, priced over REST by the user and product services."""

from shared.settings.environ import env, env_float, env_int
from shared.settings.sharded import *  # noqa: F403
from shared.settings.sharded import CELERY_BEAT_SCHEDULE, INSTALLED_APPS, MIDDLEWARE, TEMPLATES
from shared.settings.staff import *  # noqa: F403
from shared.settings.staff import with_staff_pages

SERVICE_NAME = "order"
INSTALLED_APPS = [*INSTALLED_APPS, "orders"]
# the public reads `manage.py check_query_plans` EXPLAINs (shared/db/plans.py)
QUERY_PLANS = "orders.query_plans"
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS, "TITLE": "order service"}  # noqa: F405
ORDER_MAX_ITEMS = 50
SHARDED_MODELS = [("orders.Order", "id"), ("orders.OrderItem", "order_id"), ("orders.OrderStatusChange", "order_id")]
# The services it calls (orders/clients.py): user checks the caller's account, product prices the items
SERVICE_URLS = {
    "user": env("USER_SERVICE_URL", "http://user:8000"),
    "product": env("PRODUCT_SERVICE_URL", "http://product:8000"),
}
# an order still pending after this long (a lost reservation outcome, a shard move) is rejected as
# "timed out" by the worker's beat every ORDER_PENDING_SWEEP_SECONDS (orders.services.order_expire_pending)
ORDER_PENDING_TIMEOUT_SECONDS = env_int("ORDER_PENDING_TIMEOUT_SECONDS", 120)
CELERY_BEAT_SCHEDULE = {
    **CELERY_BEAT_SCHEDULE,
    "expire-pending-orders": {
        "task": "orders.expire_pending",
        "schedule": env_float("ORDER_PENDING_SWEEP_SECONDS", 30.0),
    },
}

# --- the staff pages: Django's admin per shard server at /ops/admin/order/ (shared/staff), reached with
# the user service's staff session, which this service asks about (it keeps no sessions of its own) ---
INSTALLED_APPS, MIDDLEWARE, TEMPLATES = with_staff_pages(INSTALLED_APPS, MIDDLEWARE, TEMPLATES, sessions_here=False)
STAFF_PATH = "/ops/admin/order/"
CSRF_COOKIE_NAME = "csrftoken_order"  # the user service's csrftoken (path /ops/) reaches these pages too
CSRF_COOKIE_PATH = STAFF_PATH
