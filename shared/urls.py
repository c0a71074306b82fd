"""URL patterns every service exposes besides its API: health, metrics and its own OpenAPI schema."""

from django.urls import path
from django_prometheus.exports import ExportToDjangoView
from drf_spectacular.views import SpectacularAPIView

from shared.health import health_view, live_view


def service_urlpatterns() -> list:
    return [
        path("health/", health_view),
        path("health/live/", live_view),
        path("metrics", ExportToDjangoView),
        path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    ]
