from importlib import import_module

from django.db import migrations

from shared.db.ids import CREATE_FUNCTION_SQL, DROP_FUNCTION_SQL

previous = import_module("shared.db.migrations.0001_next_sharded_id")


class Migration(migrations.Migration):
    """Replace the modulo-sequence generator with the per-server counter of `ids.py`."""

    dependencies = [("sharding", "0001_next_sharded_id")]
    operations = [
        migrations.RunSQL(
            CREATE_FUNCTION_SQL + previous.DROP_SQL,
            reverse_sql=DROP_FUNCTION_SQL + previous.CREATE_SQL,
        )
    ]
