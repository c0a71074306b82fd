# Issue 16: the name orderings' indexes include the SKU, so that a search ordered by name (which tests
# name and SKU) walks the index alone, an index-only scan (see products.selectors.COVERED_BY_THEIR_INDEX).
# Rebuilt CONCURRENTLY, as in 0002: writes go on meanwhile; the lists fall back to a sort while an index
# is missing.

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models

ACTIVE = models.Q(("is_active", True))


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("products", "0002_catalog_indexes"),
    ]

    operations = [
        RemoveIndexConcurrently(model_name="product", name="product_active_name_idx"),
        AddIndexConcurrently(
            model_name="product",
            index=models.Index(
                condition=ACTIVE, fields=["name", "id"], include=["sku"], name="product_active_name_idx"
            ),
        ),
        RemoveIndexConcurrently(model_name="product", name="product_active_cat_name_idx"),
        AddIndexConcurrently(
            model_name="product",
            index=models.Index(
                condition=ACTIVE, fields=["category", "name", "id"], include=["sku"], name="product_active_cat_name_idx"
            ),
        ),
    ]
