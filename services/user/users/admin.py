"""Accounts in the staff admin (`/ops/admin/user/<server>/`): found by e-mail or ID, name and activity
changed through `services.user_staff_update`; passwords and staff rights are never changed here."""

from shared.staff.model_admins import ShardedModelAdmin, object_id, register
from users import services
from users.apis import MeApi
from users.models import RefreshTokenRecord, User


def _email(text: str) -> str:
    if "@" not in text:
        raise ValueError(text)
    return text.lower()  # e-mails are stored lower-cased (users.services)


@register(User)
class UserAdmin(ShardedModelAdmin):
    list_display = ("id", "email", "name", "is_staff", "is_active", "orders_count", "orders_total", "created_at")
    list_filter = ("is_staff", "is_active")
    exact_search = (("id", object_id), ("email", _email))
    search_help_text = "An e-mail address or an account ID."
    exclude = ("password",)
    editable_fields = ("name", "is_active")
    input_serializer = MeApi.UpdateInputSerializer

    def save_changes(self, obj, changes: dict) -> None:
        services.user_staff_update(user=obj, **changes)


@register(RefreshTokenRecord)
class RefreshTokenAdmin(ShardedModelAdmin):
    list_display = ("jti", "user_id", "expires_at", "revoked_at", "created_at")
    exact_search = (("user_id", object_id),)
    search_help_text = "An account ID."
