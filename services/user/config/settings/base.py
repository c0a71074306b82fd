"""The user service: accounts, JWT issuing (it alone holds the private key), per-user order statistics."""

from shared.settings.environ import env, env_int
from shared.settings.sharded import *  # noqa: F403
from shared.settings.sharded import INSTALLED_APPS, MIDDLEWARE

SERVICE_NAME = "user"
INSTALLED_APPS = [*INSTALLED_APPS, "django.contrib.sessions", "users", "ops"]
# the public reads `manage.py check_query_plans` EXPLAINs (shared/db/plans.py)
QUERY_PLANS = "users.query_plans"
AUTH_USER_MODEL = "users.User"
# Argon2id with OWASP's parameters first; PBKDF2 still reads (and upgrades) older hashes (users/hashers.py)
PASSWORD_HASHERS = [
    "users.hashers.Argon2idOwaspHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS, "TITLE": "user service"}  # noqa: F405
SHARDED_MODELS = [("users.User", "id"), ("users.RefreshTokenRecord", "user_id")]
# a refresh token presented again this soon after its rotation gets a fresh pair instead of revoking
# every token of the user (two refreshes that cross; see users.services.token_refresh)
REFRESH_GRACE_SECONDS = env_int("REFRESH_GRACE_SECONDS", 5)
# failed logins per account (normalised e-mail) before it answers 429 until the window ends (users.throttle)
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 900)

# --- the staff pages (/ops/): a Django session, kept in cached_db on redis-cache (users/sessions.py) ---
# The session and user middleware are lazy: an API request (JWT, no cookie) never touches the session.
MIDDLEWARE = [
    *MIDDLEWARE[:-1],
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    MIDDLEWARE[-1],
]
AUTHENTICATION_BACKENDS = ["users.auth_backends.AccountBackend"]
SESSION_ENGINE = "users.sessions"
SESSION_COOKIE_NAME = "ops_session"
SESSION_COOKIE_PATH = "/ops/"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
SESSION_COOKIE_AGE = env_int("OPS_SESSION_SECONDS", 8 * 3600)
SESSION_COOKIE_SECURE = env("SESSION_COOKIE_SECURE", "0") == "1"  # set 1 behind TLS
CSRF_COOKIE_PATH = "/ops/"
CSRF_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_FAILURE_VIEW = "shared.http.errors.csrf_failure"  # the one JSON error shape, not Django's HTML page
# Origin of a form is checked against the host the client asked for, which the gateway forwards
# (it sets X-Forwarded-Host itself, never passing on a client's); TLS ends before nginx when used
USE_X_FORWARDED_HOST = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
LOGIN_URL = "/ops/login/"
LOGIN_REDIRECT_URL = "/ops/"
PROMETHEUS_URL = env("PROMETHEUS_URL", "http://prometheus:9090")
PROMETHEUS_TIMEOUT_SECONDS = 2.0
OPS_WINDOW_SECONDS = env_int("OPS_WINDOW_SECONDS", 900)
OPS_STEP_SECONDS = env_int("OPS_STEP_SECONDS", 5)
