"""The catalog in the staff admin (`/ops/admin/product/<server>/`): a product found by ID or SKU, its
name, description, price and activity changed through `services.catalog.product_update` (caches dropped,
`product.updated` published); stock moves only with orders, categories are copied to every server."""

from products.apis import ProductUpdateSerializer
from products.models import Category, Product
from products.services import catalog
from shared.staff.model_admins import ShardedModelAdmin, object_id, register


@register(Product)
class ProductAdmin(ShardedModelAdmin):
    list_display = ("id", "sku", "name", "category_id", "price", "stock", "is_active", "updated_at")
    list_filter = ("is_active",)
    exact_search = (("id", object_id), ("sku", catalog.normalize_sku))
    search_help_text = "A product ID or SKU."
    editable_fields = ("name", "description", "price", "is_active")
    input_serializer = ProductUpdateSerializer

    def save_changes(self, obj, changes: dict) -> None:
        catalog.product_update(product_id=obj.id, **changes)


@register(Category)
class CategoryAdmin(ShardedModelAdmin):
    list_display = ("slug", "name", "updated_at")
