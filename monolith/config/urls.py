"""Every domain's URLs in one project: the same paths as the services behind the gateway."""

from django.urls import include, path

from shared import domains
from shared.staff.sites import admin_urlpatterns
from shared.urls import service_urlpatterns


def _admin_of(domain: str) -> list:
    with domains.use(domain):  # one admin site per shard server of the domain
        return admin_urlpatterns()


urlpatterns = [
    *service_urlpatterns(),
    path("api/", include("users.urls")),
    path("api/", include("products.urls")),
    path("api/", include("orders.urls")),
    path("ops/admin/user/", include(_admin_of("user"))),
    path("ops/admin/product/", include(_admin_of("product"))),
    path("ops/admin/order/", include(_admin_of("order"))),
    path("ops/", include("ops.urls")),  # the staff pages, behind the session kept here
]

handler400 = "shared.http.errors.handler400"
handler403 = "shared.http.errors.handler403"
handler404 = "shared.http.errors.handler404"
handler500 = "shared.http.errors.handler500"
