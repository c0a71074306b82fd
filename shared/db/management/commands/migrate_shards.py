"""`manage.py migrate_shards`: apply migrations to every shard primary (replicas follow by replication)."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from shared.db import shards


class Command(BaseCommand):
    help = "Run `migrate` on every shard primary of this service."

    def handle(self, *args, **options):
        for alias in shards.primaries():
            self.stdout.write(f"--> migrating shard server {alias}")
            call_command("migrate", database=alias, interactive=False, verbosity=options["verbosity"])
