"""Settings every Django process of the platform shares; each service's config/settings/base.py extends them.

Everything that differs between machines comes from the environment (`environ.py`); see `.env.example`.
https://docs.djangoproject.com/en/5.2/ref/settings/
"""

from datetime import timedelta

from shared.auth.keys import read_key
from shared.log import logging_config
from shared.settings.environ import env, env_bool, env_float, env_int, env_list, env_url_with_password
from shared.settings.secrets import refuse_insecure_defaults

# ------------------------------------------------------------------------------------------------
# General  https://docs.djangoproject.com/en/5.2/ref/settings/#core-settings
# ------------------------------------------------------------------------------------------------
SERVICE_NAME = env("SERVICE_NAME", "service")
# the domains one process runs, each with its own data tier: None in a service (it is one domain, its
# settings are the domain's); the monolith names each one's values (shared/domains.py, monolith/)
DOMAINS: dict[str, dict] | None = None
# the secrets (this key, DB_PASSWORD, ADMIN_PASSWORD) must not be the well-known defaults unless this
# development flag says so (shared/settings/secrets.py); `make env` writes random ones into .env
ALLOW_INSECURE_DEFAULTS = env_bool("ALLOW_INSECURE_DEFAULTS", False)
refuse_insecure_defaults(allow=ALLOW_INSECURE_DEFAULTS)
SECRET_KEY = env("DJANGO_SECRET_KEY", "dev-only-not-secret-change-me")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "*")
TIME_ZONE = "UTC"
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
APPEND_SLASH = False
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_BODY_BYTES", 1024 * 1024)

# ------------------------------------------------------------------------------------------------
# Apps and middleware
# ------------------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",  # simplejwt imports its models; users have their own sharded model
    "django.contrib.staticfiles",
    "django_prometheus",
    "rest_framework",
    "drf_spectacular",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "shared.http.middleware.RequestIDMiddleware",
    "shared.http.middleware.RequestCostMiddleware",
    "shared.http.middleware.DeadlineMiddleware",
    "shared.http.middleware.ServedByMiddleware",
    "shared.http.middleware.JsonErrorMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

# ------------------------------------------------------------------------------------------------
# Static files: collected with hashed names, served by nginx as immutable
# ------------------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env("STATIC_ROOT", "/static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}

# ------------------------------------------------------------------------------------------------
# Cache (L2 on redis-cache)  https://docs.djangoproject.com/en/5.2/topics/cache/#redis
# ------------------------------------------------------------------------------------------------
CACHES = {
    "default": {
        "BACKEND": "shared.cache.RedisCache",  # Django's, with one client per server (shared/cache.py)
        "LOCATION": env_url_with_password(
            "CACHE_URL",
            "redis://app@redis-cache:6379/0",
            password_from="REDIS_CACHE_PASSWORD",
            default_password="redis-cache",
        ),
        "KEY_PREFIX": SERVICE_NAME,
        "VERSION": 2,  # values are JSON since version 2 (1 was pickle): old entries are never read
        "TIMEOUT": env_int("CACHE_TIMEOUT", 300),
        "OPTIONS": {
            "socket_connect_timeout": 0.5,
            "socket_timeout": 0.5,
            "serializer": "shared.cache.JSONSerializer",  # never pickle (Django's default)
        },
    }
}
# (path regex, {max_age, stale_while_revalidate, edge_seconds}) of anonymous GETs anyone may cache;
# everything else is `private, no-store` (shared/http/cdn.py)
CDN_PUBLIC_PATHS: list[tuple[str, dict]] = []
CACHE_L1_SECONDS = env_float("CACHE_L1_SECONDS", 5.0)
CACHE_RETRY_SECONDS = env_float("CACHE_RETRY_SECONDS", 5.0)
CACHE_STAMPEDE_WAIT_SECONDS = env_float("CACHE_STAMPEDE_WAIT_SECONDS", 1.0)

# ------------------------------------------------------------------------------------------------
# Django REST framework and the OpenAPI schema
# ------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework_simplejwt.authentication.JWTStatelessUserAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["shared.http.parsers.JSONParser"],  # JSON nested deeper than JSON_MAX_DEPTH is a 400
    "EXCEPTION_HANDLER": "shared.http.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "shared.http.schema.AutoSchema",  # security, error responses, input rules
    "UNAUTHENTICATED_USER": None,
}
JSON_MAX_DEPTH = env_int("JSON_MAX_DEPTH", 32)
SPECTACULAR_SETTINGS = {
    "TITLE": "Scaling Django platform API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # `<id:...>` in URL patterns (shared/http/params.py): an object ID, documented as one
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "string", "pattern": r"^(?:[0-9]{1,18}|[1-8][0-9]{18})$"}},
}

# ------------------------------------------------------------------------------------------------
# JWT: RS256, verified with the public key everywhere; only the user service can sign
# https://django-rest-framework-simplejwt.readthedocs.io/en/latest/settings.html
# ------------------------------------------------------------------------------------------------
SIMPLE_JWT = {
    "ALGORITHM": "RS256",
    "SIGNING_KEY": read_key(env("JWT_PRIVATE_KEY_FILE", "/keys/private/jwt_private.pem")),
    "VERIFYING_KEY": read_key(env("JWT_PUBLIC_KEY_FILE", "/keys/public/jwt_public.pem")),
    "AUDIENCE": env("JWT_AUDIENCE", "scaling-django"),
    "ISSUER": env("JWT_ISSUER", "scaling-django-user"),
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7)),
    "ROTATE_REFRESH_TOKENS": True,  # revocation is the user service's own, on the user's shard
    "LEEWAY": 5,
}

# ------------------------------------------------------------------------------------------------
# Data tier: shards, replicas, pinning (see shared/db)
# ------------------------------------------------------------------------------------------------
DATABASE_ROUTERS = ["shared.db.routers.ShardRouter"]
REPLICA_MAX_LAG_SECONDS = env_float("REPLICA_MAX_LAG_SECONDS", 5.0)
REPLICA_RETRY_SECONDS = env_float("REPLICA_RETRY_SECONDS", 5.0)
REPLICA_CHECK_SECONDS = env_float("REPLICA_CHECK_SECONDS", 2.0)
# reads of one process that may wait on one replica at once (of WEB_THREADS, 4): a hung replica holds
# no more threads than this; further reads go to the primary (shared/db/replicas.py)
REPLICA_MAX_IN_FLIGHT = env_int("REPLICA_MAX_IN_FLIGHT", 2)
PIN_SECONDS = env_int("PIN_SECONDS", 5)
SHARD_MAP_REFRESH_SECONDS = env_float("SHARD_MAP_REFRESH_SECONDS", 1.0)
# the budgets of seed 003: a statement over 30 ms (as Postgres's own slow log, postgresql.conf) and a
# request over 100 ms are logged with their request ID and counted (shared/db/statements.py,
# shared/http/middleware.py::RequestCostMiddleware)
SLOW_STATEMENT_MS = env_float("SLOW_STATEMENT_MS", 30.0)
SLOW_REQUEST_MS = env_float("SLOW_REQUEST_MS", 100.0)
# (model label, field whose value carries the logical shard), parents before children: what
# `move_shard` copies and `shard_report` counts
SHARDED_MODELS: list[tuple[str, str]] = []

# ------------------------------------------------------------------------------------------------
# Calls to other services (shared/clients.py); a service that calls others names them, with their
# URLs, in SERVICE_URLS in its own settings
# ------------------------------------------------------------------------------------------------
# every request's time budget, retries of its calls to other services included (shared/deadline.py):
# below nginx's proxy_read_timeout (15 s), so the platform answers its own JSON 504 before nginx does;
# above what a read takes when a standby has just died (PgBouncer notices within about 8 s, then the
# read goes to the primary)
REQUEST_BUDGET_SECONDS = env_float("REQUEST_BUDGET_SECONDS", 12.0)
SERVICE_CONNECT_TIMEOUT = env_float("SERVICE_CONNECT_TIMEOUT", 1.0)
SERVICE_READ_TIMEOUT = env_float("SERVICE_READ_TIMEOUT", 12.0)  # per attempt, within the budget

# ------------------------------------------------------------------------------------------------
# Celery (broker: redis-broker)  https://docs.celeryq.dev/en/stable/userguide/configuration.html
# ------------------------------------------------------------------------------------------------
# from REDIS_BROKER_URL, not CELERY_BROKER_URL nor BROKER_URL: Celery's command line reads those two
# by itself and would use them as they are, without the password
CELERY_BROKER_URL = env_url_with_password(
    "REDIS_BROKER_URL",
    "redis://celery@redis-broker:6379/0",
    password_from="REDIS_BROKER_PASSWORD",
    default_password="redis-broker",
)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# a task a dead worker had taken is redelivered after this many seconds; longer than any task and
# any retry countdown (EVENT_RETRY_BASE_SECONDS * 2**EVENT_MAX_RETRIES)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 60),
    "socket_timeout": 5,
    "socket_connect_timeout": 3,
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_IGNORE_RESULT = True
# every task has a time limit, below the visibility timeout: at the soft one the task gets
# SoftTimeLimitExceeded (an event handler retries it like any failure, then dead-letters it); at the hard
# one the worker process running it is killed and replaced
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 20)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 30)
CELERY_BEAT_SCHEDULE = {
    "sweep-outbox": {"task": "events.sweep_outbox", "schedule": env_float("OUTBOX_SWEEP_SECONDS", 5.0)},
    "prune-events": {"task": "events.prune", "schedule": env_float("EVENT_PRUNE_SECONDS", 600.0)},
}
# the relay marks the events it sent (`sent_at`) in one statement per server every this many seconds,
# from a thread of the process, not one UPDATE per commit (shared/events/outbox.py SentMarks); 0 marks at
# once. Below the sweep's 2 s: a row is not swept again while its mark waits.
OUTBOX_MARK_SECONDS = env_float("OUTBOX_MARK_SECONDS", 0.5)
EVENT_MAX_RETRIES = env_int("EVENT_MAX_RETRIES", 4)
EVENT_RETRY_BASE_SECONDS = env_float("EVENT_RETRY_BASE_SECONDS", 1.0)
# what `events.prune` deletes (shared/events/pruning.py), in batches: outbox rows sent this long ago,
# inbox rows written this long ago (far longer than any redelivery: the visibility timeout, the retries,
# a dead letter replayed a day later), dead letters replayed this long ago (never one not replayed yet)
OUTBOX_RETENTION_DAYS = env_float("OUTBOX_RETENTION_DAYS", 7)
INBOX_RETENTION_DAYS = env_float("INBOX_RETENTION_DAYS", 30)
DEAD_LETTER_RETENTION_DAYS = env_float("DEAD_LETTER_RETENTION_DAYS", 30)
EVENT_PRUNE_BATCH = env_int("EVENT_PRUNE_BATCH", 1000)

LOGGING = logging_config(env("LOG_LEVEL", "INFO"))
