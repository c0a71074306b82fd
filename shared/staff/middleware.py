"""Middleware of the staff pages, acting only under `STAFF_PATH` (an API request pays a prefix test)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.middleware import MessageMiddleware
from django.utils.functional import SimpleLazyObject

from shared.staff import remote


def on_staff_path(request) -> bool:
    return request.path.startswith(settings.STAFF_PATH)


class RemoteStaffMiddleware(AuthenticationMiddleware):
    """`request.user` of a service without accounts: the staff member the user service names (lazily:
    asked only when a page looks)."""

    def process_request(self, request):
        if on_staff_path(request):
            request.user = SimpleLazyObject(lambda: remote.staff_for(request) or AnonymousUser())


class StaffMessageMiddleware(MessageMiddleware):
    """The admin's messages ("The product was changed"), on the staff pages only."""

    def process_request(self, request):
        if on_staff_path(request):
            super().process_request(request)
