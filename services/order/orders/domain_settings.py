"""The order domain's settings: what the order service (config/settings) and the monolith both set."""

from shared.settings.environ import env, env_float, env_int

# the public reads `manage.py check_query_plans` EXPLAINs (shared/db/plans.py)
QUERY_PLANS = "orders.query_plans"
ORDER_MAX_ITEMS = 50
SHARDED_MODELS = [("orders.Order", "id"), ("orders.OrderItem", "order_id"), ("orders.OrderStatusChange", "order_id")]
# who answers the order domain's questions to the user and product domains (orders/clients.py): the
# services over REST (orders/rest.py), or in the monolith the same domains' code in the process
ORDER_DEPENDENCIES = env("ORDER_DEPENDENCIES", "orders.rest")
# an order still pending after this long (a lost reservation outcome, a shard move) is rejected as
# "timed out" by the worker's beat every ORDER_PENDING_SWEEP_SECONDS (orders.services.order_expire_pending)
ORDER_PENDING_TIMEOUT_SECONDS = env_int("ORDER_PENDING_TIMEOUT_SECONDS", 120)
DOMAIN_BEAT_SCHEDULE = {
    "expire-pending-orders": {
        "task": "orders.expire_pending",
        "schedule": env_float("ORDER_PENDING_SWEEP_SECONDS", 30.0),
    },
}
