from django.urls import path, re_path
from drf_spectacular.views import SpectacularSwaggerView

from gateway import apis
from shared.health import live_view

urlpatterns = [
    path("health/", apis.health),
    path("health/live/", live_view),
    path("metrics", apis.metrics),
    path("api/schema/", apis.schema),
    path("api/docs/", SpectacularSwaggerView.as_view(url="/api/schema/"), name="swagger-ui"),
    re_path(r"^api/(?P<rest>.*)$", apis.forward),
    re_path(r"^ops/(?P<rest>.*)$", apis.forward),  # the staff pages (a session, not a token): user service
]

handler400 = "shared.http.errors.handler400"
handler403 = "shared.http.errors.handler403"
handler404 = "shared.http.errors.handler404"
handler500 = "shared.http.errors.handler500"
