"""The product service: categories and the catalog, stock reservations for orders."""

from shared.settings.sharded import *  # noqa: F403
from shared.settings.sharded import INSTALLED_APPS, MIDDLEWARE, TEMPLATES
from shared.settings.staff import *  # noqa: F403
from shared.settings.staff import with_staff_pages

SERVICE_NAME = "product"
# the domain's own settings, which the monolith sets too: after the shared ones, which they override
from products.domain_settings import *  # noqa: E402, F403
from products.domain_settings import DOMAIN_BEAT_SCHEDULE  # noqa: E402

# django.contrib.postgres: the catalog's trigram index (an operator class on an expression) and pg_trgm
INSTALLED_APPS = [*INSTALLED_APPS, "django.contrib.postgres", "products"]
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS, "TITLE": "product service"}  # noqa: F405

# ETags and 304s for the public catalog (browsers revalidate it after max-age): ConditionalGet sits
# outside CacheHeaders, so it sees the final Cache-Control
_at = MIDDLEWARE.index("shared.http.cdn.CacheHeadersMiddleware")
MIDDLEWARE = [*MIDDLEWARE[:_at], "django.middleware.http.ConditionalGetMiddleware", *MIDDLEWARE[_at:]]
CELERY_BEAT_SCHEDULE = {**CELERY_BEAT_SCHEDULE, **DOMAIN_BEAT_SCHEDULE}  # noqa: F405

# --- the staff pages: Django's admin per shard server at /ops/admin/product/ (shared/staff), reached with
# the user service's staff session, which this service asks about (it keeps no sessions of its own) ---
INSTALLED_APPS, MIDDLEWARE, TEMPLATES = with_staff_pages(INSTALLED_APPS, MIDDLEWARE, TEMPLATES, sessions_here=False)
STAFF_PATH = "/ops/admin/product/"
CSRF_COOKIE_NAME = "csrftoken_product"  # the user service's csrftoken (path /ops/) reaches these pages too
CSRF_COOKIE_PATH = STAFF_PATH
# the services it calls (shared/clients.py): the user service, for who is signed in to the admin
SERVICE_URLS = {"user": env("USER_SERVICE_URL", "http://user:8000")}  # noqa: F405
