"""The user service: accounts, JWT issuing (it alone holds the private key), per-user order statistics."""

from shared.settings.environ import env_int
from shared.settings.sharded import *  # noqa: F403
from shared.settings.sharded import INSTALLED_APPS

SERVICE_NAME = "user"
INSTALLED_APPS = [*INSTALLED_APPS, "users"]
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
