"""Settings of the staff pages: Django's admin on each sharded service (`shared/staff/`) and `/ops/`.

Every service's admin lives under `/ops/admin/<service>/` and is reached with the one staff session of
the user service (cookie `ops_session`, path `/ops/`). A service star-imports this module, passes its lists
through `with_staff_pages` and sets `STAFF_PATH` and its CSRF cookie (a name of its own: several
services' pages share `/ops/`).
"""

from shared.settings.environ import env, env_int

STAFF_SESSION_COOKIE = "ops_session"
LOGIN_URL = "/ops/login/"
LOGIN_REDIRECT_URL = "/ops/"
# how long a service without accounts trusts the user service's word on a session (shared/staff/remote.py)
STAFF_SESSION_RECHECK_SECONDS = env_int("STAFF_SESSION_RECHECK_SECONDS", 10)
# the admin's flash messages in a signed cookie: the product and order services keep no sessions
MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"
SESSION_COOKIE_SECURE = env("SESSION_COOKIE_SECURE", "0") == "1"  # set 1 behind TLS
CSRF_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_FAILURE_VIEW = "shared.http.errors.csrf_failure"  # the one JSON error shape, not Django's HTML page
# a form's Origin is checked against the host the client asked for, which the gateway forwards (it
# sets X-Forwarded-Host itself, never passing on a client's); TLS ends before nginx when used
USE_X_FORWARDED_HOST = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# the product and order services (the user service sets these otherwise): no sessions here, nobody signs
# in here, and the admin's check for Django's SessionMiddleware does not apply (shared/staff/remote.py)
STAFF_SESSIONS_HERE = False
AUTHENTICATION_BACKENDS: list[str] = []
SILENCED_SYSTEM_CHECKS = ["admin.E410"]


def with_staff_pages(
    installed_apps: list[str], middleware: list[str], templates: list[dict], *, sessions_here: bool
) -> tuple[list[str], list[str], list[dict]]:
    """INSTALLED_APPS, MIDDLEWARE and TEMPLATES with what the staff pages need.

    The user service (`sessions_here`) runs Django's session and authentication middleware, both lazy;
    the others `RemoteStaffMiddleware`, which asks the user service, on staff paths only. The staff
    middleware goes before the last one (django-prometheus's, which must stay last).
    """
    # shared.staff before the admin: its admin/base_site.html (the server links) wins
    apps = [*installed_apps, "shared.staff", "django.contrib.admin", "django.contrib.messages"]
    if sessions_here:
        staff = [
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ]
    else:
        staff = ["shared.staff.middleware.RemoteStaffMiddleware"]
    middleware = [*middleware[:-1], *staff, "shared.staff.middleware.StaffMessageMiddleware", middleware[-1]]
    engine = templates[0]
    processors = [
        *engine["OPTIONS"]["context_processors"],
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]
    templates = [{**engine, "OPTIONS": {**engine["OPTIONS"], "context_processors": processors}}, *templates[1:]]
    return apps, middleware, templates
