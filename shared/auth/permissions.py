"""Permissions read from the verified JWT (no user table outside the user service)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission


class IsStaffOrReadOnly(BasePermission):
    """Anyone may read; writing needs an access token whose `is_staff` claim is true."""

    message = "Only an admin may change this."

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class IsStaff(BasePermission):
    """Only an access token whose `is_staff` claim is true (operations endpoints)."""

    message = "Only an admin may see this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)
