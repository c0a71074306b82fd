from django.db import models


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
        indexes = [models.Index(fields=["category", "-id"]), models.Index(fields=["price", "id"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(stock__gte=0), name="product_stock_not_negative"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="product_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"
