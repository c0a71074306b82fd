"""The URLs of the shared/ test project: what every service exposes besides its API."""

from shared.urls import service_urlpatterns

urlpatterns = service_urlpatterns()
