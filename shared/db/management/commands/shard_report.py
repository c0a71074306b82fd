"""`manage.py shard_report [--json]`: what each shard server holds and how far behind its replicas are.

Its row counts go through PgBouncer's maintenance pools (no statement timeout; shared/db/databases.py).
"""

import json

from django.core.management.base import BaseCommand

from shared.db.databases import use_maintenance_pools
from shared.db.resharding import shard_report


class Command(BaseCommand):
    help = "Per shard server: logical shards, row counts per sharded model, replica lag."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        use_maintenance_pools()
        report = shard_report()
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
            return
        for server in report:
            self.stdout.write(
                f"{server['server']}: logical shards {server['logical_shards']}"
                + (f", moving {server['moving']}" if server["moving"] else "")
            )
            for label, count in server["rows"].items():
                self.stdout.write(f"    {label}: {count} rows")
            for replica, lag in server["replica_lag"].items():
                self.stdout.write(f"    replica {replica}: lag {lag}")
            roles = server["roles"]
            if isinstance(roles, str):
                self.stdout.write(f"    members: {roles}")
                continue
            self.stdout.write(f"    leader: {roles['leader'] or 'unknown (no standby streams from it)'}")
            for standby in roles["standbys"]:
                self.stdout.write(
                    f"    standby {standby['member']}: {standby['state']}, {standby['sync_state']},"
                    f" replay lag {standby['replay_lag_seconds']}s"
                )
