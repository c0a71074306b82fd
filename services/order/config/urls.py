from django.urls import include, path

from shared.staff.sites import admin_urlpatterns
from shared.urls import service_urlpatterns

urlpatterns = [
    *service_urlpatterns(),
    path("api/", include("orders.urls")),
    path("ops/admin/order/", include(admin_urlpatterns())),  # staff: one admin site per shard server
]

handler400 = "shared.http.errors.handler400"
handler403 = "shared.http.errors.handler403"
handler404 = "shared.http.errors.handler404"
handler500 = "shared.http.errors.handler500"
