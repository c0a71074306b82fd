"""`manage.py move_shard --shard N --to SERVER`: move one logical shard to another shard server.

Through PgBouncer's maintenance pools: copying, counting and deleting a shard's rows are not cut off by
the application role's statement timeout (shared/db/databases.py).
"""

from django.core.management.base import BaseCommand, CommandError

from shared.db.databases import use_maintenance_pools
from shared.db.resharding import MoveError, move_shard


class Command(BaseCommand):
    help = "Copy a logical shard to another server, verify, flip the shard map, delete the source rows."

    def add_arguments(self, parser):
        parser.add_argument("--shard", type=int, required=True)
        parser.add_argument("--to", dest="to_server", required=True, help="primary alias, e.g. db1")

    def handle(self, *args, shard: int, to_server: str, **options):
        use_maintenance_pools()
        try:
            counts = move_shard(shard=shard, to_server=to_server, log=self.stdout.write)
        except MoveError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"moved shard {shard} to {to_server}: {counts}")
