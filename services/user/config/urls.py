from django.urls import include, path

from ops.views import staff_session
from shared.staff.sites import admin_urlpatterns
from shared.urls import service_urlpatterns

urlpatterns = [
    *service_urlpatterns(),
    path("api/", include("users.urls")),
    path("ops/admin/user/", include(admin_urlpatterns())),  # staff: one admin site per shard server
    path("ops/", include("ops.urls")),  # the staff pages, behind a session (ops/views.py)
    # who a staff session belongs to, for the other services' admins; the edge and the gateway route
    # only /api/ and /ops/, so this is reachable inside the application network only
    path("internal/staff-session/", staff_session),
]

handler400 = "shared.http.errors.handler400"
handler403 = "shared.http.errors.handler403"
handler404 = "shared.http.errors.handler404"
handler500 = "shared.http.errors.handler500"
