# The pending-order timeout (orders.services.order_expire_pending) finds old pending orders by this index.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_remove_archived_status"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(condition=models.Q(("status", "pending")), fields=["created_at"], name="order_pending"),
        ),
    ]
