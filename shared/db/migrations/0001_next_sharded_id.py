from django.db import migrations

# The first ID generator (a plain sequence taken modulo 4096) could repeat IDs when more than 4,096
# were made in one millisecond; 0002 replaces it. Kept so existing databases migrate forward.
CREATE_SQL = """
CREATE SEQUENCE IF NOT EXISTS sharded_id_seq;
CREATE OR REPLACE FUNCTION next_sharded_id(shard integer) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    RETURN ((floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint - 1767225600000) << 22)
           | (shard::bigint << 12) | (nextval('sharded_id_seq') % 4096);
END;
$$;
"""
DROP_SQL = "DROP FUNCTION IF EXISTS next_sharded_id(integer); DROP SEQUENCE IF EXISTS sharded_id_seq;"


class Migration(migrations.Migration):
    dependencies = []
    operations = [migrations.RunSQL(CREATE_SQL, reverse_sql=DROP_SQL)]
