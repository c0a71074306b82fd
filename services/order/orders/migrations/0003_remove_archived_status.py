# The "archived" status was never set: an archived order keeps its status and gets `archived_at`.

from django.db import migrations, models

STATUSES = [("pending", "Pending"), ("confirmed", "Confirmed"), ("rejected", "Rejected"), ("cancelled", "Cancelled")]


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0002_order_archived_at"),
    ]

    operations = [
        migrations.AlterField(
            model_name="order",
            name="status",
            field=models.CharField(choices=STATUSES, default="pending", max_length=16),
        ),
        migrations.AlterField(
            model_name="orderstatuschange",
            name="status",
            field=models.CharField(choices=STATUSES, max_length=16),
        ),
    ]
