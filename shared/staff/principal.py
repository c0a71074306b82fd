"""The signed-in staff member as a service without accounts knows them: what the user service told it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StaffUser:
    """`request.user` on the product and order admins: not a row anywhere here, never saved.

    Staff may use every admin page their service offers; what may be changed, and how, is the
    ModelAdmin's to say (`model_admins.ShardedModelAdmin`)."""

    id: int
    email: str
    name: str = ""
    is_staff: bool = True
    is_active: bool = True

    is_authenticated = True
    is_anonymous = False
    is_superuser = False

    @property
    def pk(self) -> int:
        return self.id

    def get_username(self) -> str:
        return self.email

    def get_short_name(self) -> str:
        return self.name or self.email

    def get_full_name(self) -> str:
        return self.name or self.email

    def has_usable_password(self) -> bool:
        return False  # the password is changed at the user service, never here

    def has_perm(self, perm: str, obj=None) -> bool:
        return self.is_active and self.is_staff

    def has_perms(self, perm_list, obj=None) -> bool:
        return all(self.has_perm(perm, obj) for perm in perm_list)

    def has_module_perms(self, app_label: str) -> bool:
        return self.is_active and self.is_staff

    def __str__(self) -> str:
        return self.email
