from django.db import models


class Order(models.Model):
    """An order. Lives on its owner's logical shard: its ID carries the shard of `user_id`."""

    class Status(models.TextChoices):
        PENDING = "pending"
        CONFIRMED = "confirmed"
        REJECTED = "rejected"
        CANCELLED = "cancelled"

    id = models.BigIntegerField(primary_key=True)
    user_id = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    total = models.DecimalField(max_digits=14, decimal_places=2)
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)  # set when its user is deleted
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["user_id", "-id"]),
            # the pending-order timeout (services.order_expire_pending) finds old pending orders
            models.Index(fields=["created_at"], name="order_pending", condition=models.Q(status="pending")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["user_id", "idempotency_key"], name="order_idempotency_key_per_user"),
        ]


class OrderItem(models.Model):
    """A line of an order with the unit price as it was when the order was placed."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product_id = models.BigIntegerField()
    product_name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    @property
    def line_total(self):
        return self.unit_price * self.quantity


class OrderStatusChange(models.Model):
    """The history of an order's status, shown on its detail."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="history")
    status = models.CharField(max_length=16, choices=Order.Status.choices)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
