"""The monolith: the user, product and order domains' apps (the same code as the services) in one process.

Each domain keeps its own data tier, as in the services: its shard servers behind its PgBouncer, its shard
map, its cache keys and its event queue. What is the domain's own is in `DOMAINS` (shared/domains.py says
how code finds the one it runs for); the domains' other settings are set once here from each app's
`domain_settings.py`, which the services read too. A domain's database aliases carry its name
(`product_db0`); `default` is the user domain's home server, as Django needs one.

Where the order domain asks the user and product domains (orders/clients.py), the monolith answers in
the process (monolith/adapters.py) instead of over REST.
"""

from orders import domain_settings as order
from products import domain_settings as product
from shared.db.databases import databases_for, prefixed, shard_map_from_env, topology_from_env, with_default
from shared.settings.base import *  # noqa: F403
from shared.settings.base import CACHES, CELERY_BEAT_SCHEDULE, INSTALLED_APPS, MIDDLEWARE, TEMPLATES
from shared.settings.environ import env
from shared.settings.staff import *  # noqa: F403
from shared.settings.staff import with_staff_pages
from users import domain_settings as user

SERVICE_NAME = "monolith"
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS, "TITLE": "monolith"}  # noqa: F405

# the domains' settings that are not per domain (the user domain's last: its staff settings are the
# monolith's, which keeps the staff sessions as the user service does)
_PER_DOMAIN = {"SHARDED_MODELS", "QUERY_PLANS", "DOMAIN_BEAT_SCHEDULE"}  # in DOMAINS and the beat below
for _module in (order, product, user):
    _names = [name for name in dir(_module) if name.isupper() and name not in _PER_DOMAIN]
    globals().update({name: getattr(_module, name) for name in _names})

# --- the domains: each one's apps, data tier and the few settings that differ ----------------------------
# (the staff sessions are the user domain's, as in the services: only the user service keeps them)
_APPS = {"user": ["users", "ops", "sessions"], "product": ["products"], "order": ["orders"]}
_SETTINGS = {"user": user, "product": product, "order": order}
DOMAINS: dict[str, dict] = {}
DATABASES: dict[str, dict] = {}
for _domain, _apps in _APPS.items():
    _variable = _domain.upper()
    _topology = prefixed(topology_from_env(f"{_variable}_SHARD_TOPOLOGY"), f"{_domain}_")
    DOMAINS[_domain] = {
        "APPS": _apps,
        "SHARD_TOPOLOGY": _topology,
        "SHARD_MAP": shard_map_from_env(list(_topology), f"{_variable}_SHARD_MAP", prefix=f"{_domain}_"),
        "SHARDED_MODELS": _SETTINGS[_domain].SHARDED_MODELS,
        "QUERY_PLANS": _SETTINGS[_domain].QUERY_PLANS,
    }
    DATABASES |= databases_for(
        topology_from_env(f"{_variable}_SHARD_TOPOLOGY"),
        host=env(f"{_variable}_DB_HOST", f"{_domain}-pgbouncer"),
        test_prefix=f"monolith_{_domain}",
        prefix=f"{_domain}_",
    )
DATABASES = with_default(DATABASES)
# a request is for the domain whose paths it asks (the gateway's routes, gateway/config/settings)
DOMAIN_PATHS = [
    ("/api/auth/", "user"),
    ("/api/users/", "user"),
    ("/api/products/", "product"),
    ("/api/orders/", "order"),
    ("/ops/admin/product/", "product"),
    ("/ops/admin/order/", "order"),
    ("/ops/", "user"),
]
ORDER_DEPENDENCIES = "monolith.adapters"
# each domain's cache keys as its service makes them (its name, the version, the key): shared with a service
# that takes the domain over
CACHES = {"default": {**CACHES["default"], "KEY_FUNCTION": "shared.domains.cache_key"}}

INSTALLED_APPS = [
    *INSTALLED_APPS,
    "shared.db",
    "shared.events",
    "django.contrib.sessions",
    "django.contrib.postgres",
    "users",
    "ops",
    "products",
    "orders",
]
# the services' middleware (shared/settings/sharded.py, and the product service's ETags, which answers
# that are `no-store` never get), inside the domain's
_at = MIDDLEWARE.index("django_prometheus.middleware.PrometheusAfterMiddleware")
MIDDLEWARE = [
    "shared.domains.DomainMiddleware",
    *MIDDLEWARE[:_at],
    "django.middleware.http.ConditionalGetMiddleware",
    "shared.http.cdn.CacheHeadersMiddleware",
    "shared.db.pinning.PrimaryPinMiddleware",
    *MIDDLEWARE[_at:],
]
INSTALLED_APPS, MIDDLEWARE, TEMPLATES = with_staff_pages(INSTALLED_APPS, MIDDLEWARE, TEMPLATES, sessions_here=True)
STAFF_PATH = "/ops/"

# every domain's periodic tasks, each sent to the domain's queue (its worker runs it for that domain)
CELERY_BEAT_SCHEDULE = {
    f"{domain}:{name}": {**entry, "options": {"queue": domain}}
    for domain, domain_schedule in {
        "user": CELERY_BEAT_SCHEDULE,
        "product": {**CELERY_BEAT_SCHEDULE, **product.DOMAIN_BEAT_SCHEDULE},
        "order": {**CELERY_BEAT_SCHEDULE, **order.DOMAIN_BEAT_SCHEDULE},
    }.items()
    for name, entry in domain_schedule.items()
}
# a task sent without a queue goes to the queue of the domain that sends it (config/celery.py)
CELERY_TASK_ROUTES = ("config.celery.route_to_domain",)
