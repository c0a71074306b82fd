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

# Which service answers which public path prefix (first match wins); the routes file, changed at run time,
# sends a prefix to another upstream (gateway/routing.py: the monolith, or a service taken out of it)
GATEWAY_ROUTES = [
    ("/api/auth/", "user"),
    ("/api/users/", "user"),
    ("/api/products/", "product"),
    ("/api/orders/", "order"),
    ("/ops/admin/product/", "product"),  # each service's admin, reached with the one staff session
    ("/ops/admin/order/", "order"),
    ("/ops/", "user"),  # the staff pages: the user service owns the accounts and their sessions
]
GATEWAY_ROUTES_FILE = env("GATEWAY_ROUTES_FILE", "/routes/routes.json")
# The upstreams it calls (shared/clients.py): every service, and the monolith (`make up MODE=monolith`)
SERVICE_URLS = {
    "user": env("USER_SERVICE_URL", "http://user:8000"),
    "product": env("PRODUCT_SERVICE_URL", "http://product:8000"),
    "order": env("ORDER_SERVICE_URL", "http://order:8000"),
    "monolith": env("MONOLITH_URL", "http://monolith:8000"),
}
GATEWAY_POOL_SIZE = env_int("GATEWAY_POOL_SIZE", 50)
