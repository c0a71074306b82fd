from django.urls import include, path

from shared.urls import service_urlpatterns

urlpatterns = [
    *service_urlpatterns(),
    path("api/", include("users.urls")),
    path("ops/", include("ops.urls")),  # the staff pages, behind a session (ops/views.py)
]

handler400 = "shared.http.errors.handler400"
handler403 = "shared.http.errors.handler403"
handler404 = "shared.http.errors.handler404"
handler500 = "shared.http.errors.handler500"
