"""The product domain's settings: what the product service (config/settings) and the monolith both set."""

from shared.settings.environ import env

# the public reads `manage.py check_query_plans` EXPLAINs (shared/db/plans.py)
QUERY_PLANS = "products.query_plans"
# The catalog is public: browsers may keep it briefly, the edge longer (it is purged on change).
CDN_PUBLIC_PATHS = [
    # a product: the edge keeps it a second (it shows the stock, which every order changes) and only under
    # its canonical URL, which a change purges at once; browsers a second, then revalidate (ETag)
    (r"^/api/products/\d+/$", {"max_age": 1, "stale_while_revalidate": 5, "edge_seconds": 1, "canonical_only": True}),
    (r"^/api/products/$", {"max_age": 5, "stale_while_revalidate": 30, "edge_seconds": 5}),
]
EDGE_PURGE_URL = env("EDGE_PURGE_URL", "http://nginx:8081")
EDGE_PURGE_TOKEN = env("EDGE_PURGE_TOKEN", "")  # the product worker's only (compose, k8s)
DOMAIN_BEAT_SCHEDULE = {"warm-cache": {"task": "products.warm_cache", "schedule": 60.0}}
SHARDED_MODELS = [("products.Product", "id")]
