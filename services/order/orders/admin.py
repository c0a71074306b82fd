"""Orders in the staff admin (`/ops/admin/order/<server>/`), read-only: an order changes only through
its saga (events), never by hand. Found by order ID or by the ID of the user who placed it."""

from orders.models import Order, OrderItem, OrderStatusChange
from shared.staff.model_admins import ShardedInline, ShardedModelAdmin, object_id, register


class OrderItemInline(ShardedInline):
    model = OrderItem
    fields = ("product_id", "product_name", "quantity", "unit_price")


class OrderStatusChangeInline(ShardedInline):
    model = OrderStatusChange
    fields = ("status", "reason", "created_at")


@register(Order)
class OrderAdmin(ShardedModelAdmin):
    list_display = ("id", "user_id", "status", "total", "created_at", "updated_at")
    list_filter = ("status",)
    exact_search = (("id", object_id), ("user_id", object_id))
    search_help_text = "An order ID, or the ID of the user who placed it."
    inlines = (OrderItemInline, OrderStatusChangeInline)
