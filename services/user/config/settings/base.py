"""The user service: accounts, JWT issuing (it alone holds the private key), per-user order statistics."""

from shared.settings.sharded import *  # noqa: F403
from shared.settings.sharded import INSTALLED_APPS, MIDDLEWARE, TEMPLATES
from shared.settings.staff import *  # noqa: F403
from shared.settings.staff import with_staff_pages

SERVICE_NAME = "user"
# the domain's own settings, which the monolith sets too: after the shared ones, which they override
from users.domain_settings import *  # noqa: E402, F403

INSTALLED_APPS = [*INSTALLED_APPS, "django.contrib.sessions", "users", "ops"]
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS, "TITLE": "user service"}  # noqa: F405

# the staff pages: this service keeps the sessions (users/domain_settings.py)
INSTALLED_APPS, MIDDLEWARE, TEMPLATES = with_staff_pages(INSTALLED_APPS, MIDDLEWARE, TEMPLATES, sessions_here=True)
STAFF_PATH = "/ops/"
