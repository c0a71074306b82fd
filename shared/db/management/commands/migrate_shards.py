"""`manage.py migrate_shards`: apply migrations to every shard primary (replicas follow by replication).

Through PgBouncer's maintenance pools: a migration is not cut off by the application role's statement
timeout (shared/db/databases.py).
"""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from shared.db import shards
from shared.db.databases import use_maintenance_pools


class Command(BaseCommand):
    help = "Run `migrate` on every shard primary of this service."

    def handle(self, *args, **options):
        use_maintenance_pools()
        for alias in shards.primaries():
            self.stdout.write(f"--> migrating shard server {alias}")
            call_command("migrate", database=alias, interactive=False, verbosity=options["verbosity"])
