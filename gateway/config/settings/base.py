"""The gateway: no database of its own; it verifies JWTs and forwards to the services."""

from shared.settings.base import *  # noqa: F403
from shared.settings.base import INSTALLED_APPS, MIDDLEWARE
from shared.settings.environ import env, env_int

SERVICE_NAME = "gateway"
INSTALLED_APPS = [*INSTALLED_APPS, "drf_spectacular_sidecar", "gateway"]
DATABASES = {}
# The proxy path runs on every request: only what it needs (metrics, request ID, the error shape).
# X-Served-By comes from the service that answered; CommonMiddleware has nothing to do here.
MIDDLEWARE = [
    m
    for m in MIDDLEWARE
    if m not in ("shared.http.middleware.ServedByMiddleware", "django.middleware.common.CommonMiddleware")
]

# Which service answers which public path prefix (first match wins).
GATEWAY_ROUTES = [
    ("/api/auth/", "user"),
    ("/api/users/", "user"),
    ("/api/products/", "product"),
    ("/api/orders/", "order"),
    ("/ops/admin/product/", "product"),  # each service's admin, reached with the one staff session
    ("/ops/admin/order/", "order"),
    ("/ops/", "user"),  # the staff pages: the user service owns the accounts and their sessions
]
# The services it calls (shared/clients.py): all of them
SERVICE_URLS = {
    "user": env("USER_SERVICE_URL", "http://user:8000"),
    "product": env("PRODUCT_SERVICE_URL", "http://product:8000"),
    "order": env("ORDER_SERVICE_URL", "http://order:8000"),
}
GATEWAY_POOL_SIZE = env_int("GATEWAY_POOL_SIZE", 50)
