from django.db import migrations

from shared.db.ids import CREATE_FUNCTION_SQL, DROP_FUNCTION_SQL


class Migration(migrations.Migration):
    dependencies = []
    operations = [migrations.RunSQL(CREATE_FUNCTION_SQL, reverse_sql=DROP_FUNCTION_SQL)]
