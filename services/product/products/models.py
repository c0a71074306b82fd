from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Upper

ACTIVE = models.Q(is_active=True)


class Category(models.Model):
    """Reference data, small and read everywhere: a copy lives on every shard server."""

    slug = models.SlugField(max_length=64, primary_key=True)
    name = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """A catalog item. Lives on the logical shard its SKU hashes to; its ID carries that shard."""

    id = models.BigIntegerField(primary_key=True)
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    price = models.DecimalField(max_digits=10, decimal_places=2)
    stock = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        # One index per ordering and filter of the catalog (products.selectors), on active rows only, as the
        # catalog lists them; B-trees are read backwards for the descending orderings. "-created" (the
        # key alone) uses the primary key. Search: UPPER(name) LIKE UPPER('%term%') is how Django writes
        # `name__icontains` (a trigram index answers it for terms of 3+ characters), and UPPER(sku) = ...
        # is `sku__iexact`. The name orderings' indexes include the SKU, so that a search ordered by name
        # is tested on index entries alone (an index-only scan: products.selectors.COVERED_BY_THEIR_INDEX).
        indexes = [
            models.Index(fields=["price", "id"], condition=ACTIVE, name="product_active_price_idx"),
            models.Index(fields=["name", "id"], include=["sku"], condition=ACTIVE, name="product_active_name_idx"),
            models.Index(fields=["category", "id"], condition=ACTIVE, name="product_active_category_idx"),
            models.Index(fields=["category", "price", "id"], condition=ACTIVE, name="product_active_cat_price_idx"),
            models.Index(
                fields=["category", "name", "id"], include=["sku"], condition=ACTIVE, name="product_active_cat_name_idx"
            ),
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="product_name_trgm_idx"),
            models.Index(Upper("sku"), name="product_sku_upper_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(stock__gte=0), name="product_stock_not_negative"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="product_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"
