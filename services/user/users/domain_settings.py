"""The user domain's settings: what the user service (config/settings) and the monolith both set."""

from shared.settings.environ import env, env_int
from shared.settings.staff import STAFF_SESSION_COOKIE

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
SHARDED_MODELS = [("users.User", "id"), ("users.RefreshTokenRecord", "user_id")]
# a refresh token presented again this soon after its rotation gets a fresh pair instead of revoking
# every token of the user (two refreshes that cross; see users.services.token_refresh)
REFRESH_GRACE_SECONDS = env_int("REFRESH_GRACE_SECONDS", 5)
# failed logins per account (normalised e-mail) before it answers 429 until the window ends (users.throttle)
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 900)

# --- the staff pages (/ops/ and /ops/admin/user/): a Django session in cached_db on redis-cache -------
# (shared/staff/sessions.py). The session and user middleware are lazy: an API request (JWT, no cookie)
# never touches the session. The product and order admins ask this service who a session belongs to.
STAFF_SESSIONS_HERE = True
AUTHENTICATION_BACKENDS = ["users.auth_backends.AccountBackend"]
SILENCED_SYSTEM_CHECKS: list[str] = []
SESSION_ENGINE = "shared.staff.sessions"
SESSION_COOKIE_NAME = STAFF_SESSION_COOKIE
SESSION_COOKIE_PATH = "/ops/"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
SESSION_COOKIE_AGE = env_int("OPS_SESSION_SECONDS", 8 * 3600)
CSRF_COOKIE_PATH = "/ops/"
PROMETHEUS_URL = env("PROMETHEUS_URL", "http://prometheus:9090")
PROMETHEUS_TIMEOUT_SECONDS = 2.0
OPS_WINDOW_SECONDS = env_int("OPS_WINDOW_SECONDS", 900)
OPS_STEP_SECONDS = env_int("OPS_STEP_SECONDS", 5)
