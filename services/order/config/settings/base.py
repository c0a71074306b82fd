"""The order service: orders on their owner's shard, priced over REST by the user and product services."""

from shared.settings.environ import env
from shared.settings.sharded import *  # noqa: F403
from shared.settings.sharded import CELERY_BEAT_SCHEDULE, INSTALLED_APPS, MIDDLEWARE, TEMPLATES
from shared.settings.staff import *  # noqa: F403
from shared.settings.staff import with_staff_pages

SERVICE_NAME = "order"
# the domain's own settings, which the monolith sets too: after the shared ones, which they override
from orders.domain_settings import *  # noqa: E402, F403
from orders.domain_settings import DOMAIN_BEAT_SCHEDULE  # noqa: E402

INSTALLED_APPS = [*INSTALLED_APPS, "orders"]
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS, "TITLE": "order service"}  # noqa: F405
CELERY_BEAT_SCHEDULE = {**CELERY_BEAT_SCHEDULE, **DOMAIN_BEAT_SCHEDULE}
# The services it calls (orders/rest.py): user checks the caller's account, product prices the items
SERVICE_URLS = {
    "user": env("USER_SERVICE_URL", "http://user:8000"),
    "product": env("PRODUCT_SERVICE_URL", "http://product:8000"),
}

# --- the staff pages: Django's admin per shard server at /ops/admin/order/ (shared/staff), reached with
# the user service's staff session, which this service asks about (it keeps no sessions of its own) ---
INSTALLED_APPS, MIDDLEWARE, TEMPLATES = with_staff_pages(INSTALLED_APPS, MIDDLEWARE, TEMPLATES, sessions_here=False)
STAFF_PATH = "/ops/admin/order/"
CSRF_COOKIE_NAME = "csrftoken_order"  # the user service's csrftoken (path /ops/) reaches these pages too
CSRF_COOKIE_PATH = STAFF_PATH
