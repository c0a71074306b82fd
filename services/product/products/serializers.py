"""The product's public representation: what the API returns and what the caches keep."""

from datetime import UTC

from rest_framework import serializers


class ProductOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    sku = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    category = serializers.CharField(source="category_id")
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    stock = serializers.IntegerField()
    is_active = serializers.BooleanField()
    # in UTC ("Z"), as TIME_ZONE says; declared, so that each value does not look up the active timezone
    created_at = serializers.DateTimeField(default_timezone=UTC)
    updated_at = serializers.DateTimeField(default_timezone=UTC)

    def to_representation(self, product) -> dict:
        """The fields above, read straight from the model.

        DRF's generic path walks each field's source, checks for None and builds the dict one field at
        a time, and each date looked up the active timezone (asgiref's Local) before `default_timezone`
        was declared: 5.4-5.6 ms of CPU for a page of 100 products, against 1.7-1.8 now (measured in
        the product image, medians of 7 x 50 pages, both in one process, while the large seed ran).
        A catalog page that misses every cache cost the service 13-18 ms in all. Same output: every
        column is NOT NULL, and the price and the dates go through their own fields.
        products/tests/test_serializers.py holds it to what the generic path gives.
        """
        fields = self.fields  # built once per serializer; once per page with many=True
        return {
            "id": str(product.id),
            "sku": product.sku,
            "name": product.name,
            "description": product.description,
            "category": product.category_id,
            "price": fields["price"].to_representation(product.price),
            "stock": int(product.stock),
            "is_active": bool(product.is_active),
            "created_at": fields["created_at"].to_representation(product.created_at),
            "updated_at": fields["updated_at"].to_representation(product.updated_at),
        }
