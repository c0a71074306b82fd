"""The product service: categories and the catalog, stock reservations for orders."""

from shared.settings.sharded import *  # noqa: F403
from shared.settings.sharded import INSTALLED_APPS, MIDDLEWARE, TEMPLATES
from shared.settings.staff import *  # noqa: F403
from shared.settings.staff import with_staff_pages

SERVICE_NAME = "product"
# django.contrib.postgres: the catalog's trigram index (an operator class on an expression) and pg_trgm
INSTALLED_APPS = [*INSTALLED_APPS, "django.contrib.postgres", "products"]
# the public reads `manage.py check_query_plans` EXPLAINs (shared/db/plans.py)
QUERY_PLANS = "products.query_plans"
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS, "TITLE": "product service"}  # noqa: F405

# The catalog is public: browsers may keep it briefly, the edge longer (it is purged on change).
CDN_PUBLIC_PATHS = [
    # a product: the edge keeps it a second (it shows the stock, which every order changes) and only under
    # its canonical URL, which a change purges at once; browsers a second, then revalidate (ETag)
    (r"^/api/products/\d+/$", {"max_age": 1, "stale_while_revalidate": 5, "edge_seconds": 1, "canonical_only": True}),
    (r"^/api/products/$", {"max_age": 5, "stale_while_revalidate": 30, "edge_seconds": 5}),
]
# ETags and 304s for the public catalog (browsers revalidate it after max-age): ConditionalGet sits
# outside CacheHeaders, so it sees the final Cache-Control
_at = MIDDLEWARE.index("shared.http.cdn.CacheHeadersMiddleware")
MIDDLEWARE = [*MIDDLEWARE[:_at], "django.middleware.http.ConditionalGetMiddleware", *MIDDLEWARE[_at:]]
EDGE_PURGE_URL = env("EDGE_PURGE_URL", "http://nginx:8081")  # noqa: F405
EDGE_PURGE_TOKEN = env("EDGE_PURGE_TOKEN", "")  # noqa: F405 - the product worker's only (compose, k8s)
CELERY_BEAT_SCHEDULE = {
    **CELERY_BEAT_SCHEDULE,  # noqa: F405
    "warm-cache": {"task": "products.warm_cache", "schedule": 60.0},
}
SHARDED_MODELS = [("products.Product", "id")]

# --- the staff pages: Django's admin per shard server at /ops/admin/product/ (shared/staff), reached with
# the user service's staff session, which this service asks about (it keeps no sessions of its own) ---
INSTALLED_APPS, MIDDLEWARE, TEMPLATES = with_staff_pages(INSTALLED_APPS, MIDDLEWARE, TEMPLATES, sessions_here=False)
STAFF_PATH = "/ops/admin/product/"
CSRF_COOKIE_NAME = "csrftoken_product"  # the user service's csrftoken (path /ops/) reaches these pages too
CSRF_COOKIE_PATH = STAFF_PATH
# the services it calls (shared/clients.py): the user service, for who is signed in to the admin
SERVICE_URLS = {"user": env("USER_SERVICE_URL", "http://user:8000")}  # noqa: F405
