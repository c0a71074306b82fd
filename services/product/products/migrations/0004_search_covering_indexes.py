# Issue 16: a frequent word in the id or price ordering walked that ordering's index and read each
# row from the table to test its name (about 12 rows a page row for a word one name in 12 has: 43 ms
# a server on the large catalog). These indexes hold the name and the SKU, so that every ordering of
# the whole catalog tests a search on index entries alone, as the name orderings do since 0003.
# Built CONCURRENTLY, as in 0002: writes go on meanwhile; the price ordering walks the primary key and
# sorts while its index is rebuilt.

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models

ACTIVE = models.Q(("is_active", True))


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("products", "0003_name_indexes_include_sku"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="product",
            index=models.Index(condition=ACTIVE, fields=["id"], include=["name", "sku"], name="product_active_id_idx"),
        ),
        RemoveIndexConcurrently(model_name="product", name="product_active_price_idx"),
        AddIndexConcurrently(
            model_name="product",
            index=models.Index(
                condition=ACTIVE, fields=["price", "id"], include=["name", "sku"], name="product_active_price_idx"
            ),
        ),
    ]
