"""`manage.py prune_events [--outbox-days D] [--inbox-days D] [--dead-letter-days D]`: prune the event tables now.

What every worker's beat runs every EVENT_PRUNE_SECONDS (`events.prune`), with the retention settings
unless given here; it goes on until nothing old is left (no time budget).
"""

from django.core.management.base import BaseCommand

from shared.db.databases import use_maintenance_pools
from shared.events.pruning import prune


class Command(BaseCommand):
    help = "Delete sent outbox rows, inbox rows and replayed dead letters older than their retention."

    def add_arguments(self, parser):
        parser.add_argument("--outbox-days", type=float, default=None)
        parser.add_argument("--inbox-days", type=float, default=None)
        parser.add_argument("--dead-letter-days", type=float, default=None)

    def handle(self, *args, outbox_days, inbox_days, dead_letter_days, **options):
        use_maintenance_pools()
        deleted = prune(
            outbox_days=outbox_days,
            inbox_days=inbox_days,
            dead_letter_days=dead_letter_days,
            budget_seconds=float("inf"),
        )
        self.stdout.write(" ".join(f"{name}={count}" for name, count in deleted.items()))
