"""One Django admin site per shard server of a service, mounted at `/ops/admin/<service>/<server>/`.

Signing in and out is the staff sign-in's (`/ops/login/`, the user service): a site's login page sends
there and comes back; its logout ends the one staff session (`shared/staff/remote.py` on a service
without accounts).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth import logout as end_local_session
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse

from shared import domains
from shared.db import shards
from shared.staff import remote
from shared.staff.model_admins import registered


class ServerAdminSite(admin.AdminSite):
    site_url = "/ops/"
    enable_nav_sidebar = False

    def __init__(self, alias: str) -> None:
        super().__init__(name=f"admin-{alias}")
        self.alias = alias
        self.server = domains.server_name(alias)  # `db0`, also in the monolith, whose alias is `product_db0`
        self.site_header = f"{domains.current()} admin · {self.server}"
        self.site_title = f"{domains.current()} admin"
        self.index_title = f"Shard server {self.server} (primary)"

    def each_context(self, request):
        context = super().each_context(request)
        context["shard_servers"] = [
            (domains.server_name(alias), reverse("admin:index", current_app=f"admin-{alias}"), alias == self.alias)
            for alias in shards.primaries()
        ]
        return context

    def login(self, request, extra_context=None):
        back = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index", current_app=self.name)
        return HttpResponseRedirect(f"{settings.LOGIN_URL}?{urlencode({REDIRECT_FIELD_NAME: back})}")

    def logout(self, request, extra_context=None):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if settings.STAFF_SESSIONS_HERE:
            end_local_session(request)
        else:
            remote.sign_out(request)
        return HttpResponseRedirect(settings.LOGIN_URL)


def server_sites() -> list[ServerAdminSite]:
    """A site per shard primary, each with every registered model (dead letters: the home server's)."""
    home = shards.home_primary()
    sites = []
    for alias in shards.primaries():
        site = ServerAdminSite(alias)
        for model, admin_class, home_only in registered():
            if not home_only or alias == home:
                site.register(model, admin_class)
        sites.append(site)
    return sites


def admin_urlpatterns() -> list:
    """`<server>/...` for each site, and the bare prefix sends to the home server's."""
    sites = server_sites()

    def to_home(request):
        return HttpResponseRedirect(reverse("admin:index", current_app=sites[0].name))

    return [path("", to_home), *(path(f"{site.server}/", site.urls) for site in sites)]
