# Issue 16: an index for every ordering and filter of the catalog, on active rows, a trigram index for
# search, and statistics of the shard inside product IDs (see shared.db.scatter.shard_statistics_sql). Built CONCURRENTLY (so the migration is not atomic): on a catalog of millions, writes go on while
# they build. A failed concurrent build leaves an INVALID index behind: drop it and run the migration again.
#
# pg_trgm: CREATE EXTENSION runs here, as the application role through PgBouncer, on every shard primary.
# No superuser is needed: pg_trgm is a trusted extension (PostgreSQL 13+), which the owner of the
# database may create, and deploy/postgres/entrypoint.sh makes the application role the owner of the
# service's database. So shard servers initialised before this migration need no change of their init
# script, and a shard server added later gets the extension from `migrate_shards` like any table.

import django.contrib.postgres.indexes
import django.db.models.functions.text
from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently, TrigramExtension
from django.db import migrations, models

from shared.db.scatter import shard_statistics_sql

ACTIVE = models.Q(("is_active", True))


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("products", "0001_initial"),
    ]

    operations = [
        TrigramExtension(),
        AddIndexConcurrently(
            model_name="product",
            index=models.Index(condition=ACTIVE, fields=["price", "id"], name="product_active_price_idx"),
        ),
        AddIndexConcurrently(
            model_name="product",
            index=models.Index(condition=ACTIVE, fields=["name", "id"], name="product_active_name_idx"),
        ),
        AddIndexConcurrently(
            model_name="product",
            index=models.Index(condition=ACTIVE, fields=["category", "id"], name="product_active_category_idx"),
        ),
        AddIndexConcurrently(
            model_name="product",
            index=models.Index(condition=ACTIVE, fields=["category", "price", "id"], name="product_active_cat_price_idx"),
        ),
        AddIndexConcurrently(
            model_name="product",
            index=models.Index(condition=ACTIVE, fields=["category", "name", "id"], name="product_active_cat_name_idx"),
        ),
        AddIndexConcurrently(
            model_name="product",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass(django.db.models.functions.text.Upper("name"), name="gin_trgm_ops"),
                name="product_name_trgm_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="product",
            index=models.Index(django.db.models.functions.text.Upper("sku"), name="product_sku_upper_idx"),
        ),
        # replaced by the partial indexes above
        RemoveIndexConcurrently(model_name="product", name="products_pr_categor_0374ca_idx"),
        RemoveIndexConcurrently(model_name="product", name="products_pr_price_dbec84_idx"),
        migrations.RunSQL(*shard_statistics_sql("products_product", "id")),
    ]
