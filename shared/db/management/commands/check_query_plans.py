"""`manage.py check_query_plans`: EXPLAIN every public read of this service on the data it holds now.

The reads are the service's `QUERY_PLANS` module's `public_reads()` (the same ones its unit test checks
on a test data set), with parameters taken from the live data; every statement they send to any
server is EXPLAINed on that server. Exit 1 when a plan scans a large table sequentially. `make
bench-sizes` runs it on the large data set.
"""

from importlib import import_module

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from shared import domains
from shared.db import plans, shards

MEANINGFUL_ROWS = 10_000  # per server: below, a sequential scan is the planner's right answer


def _estimated_rows(table: str) -> int:
    """The planner's estimate of `table`'s rows on the smallest shard primary."""
    counts = []
    for alias in shards.primaries():
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
            counts.append(int(cursor.fetchone()[0]))
    return min(counts)


class Command(BaseCommand):
    help = "EXPLAIN every public read on the live data; fail on a sequential scan of a large table."

    def handle(self, *args, **options):
        module = import_module(domains.setting("QUERY_PLANS"))
        largest = max(_estimated_rows(table) for table in module.LARGE_TABLES)
        if largest < MEANINGFUL_ROWS:
            raise CommandError(
                f"the largest table holds about {largest} rows a server: on so few the planner rightly reads it"
                " sequentially, so its plans say nothing; run this on the large data set (make seed SIZE=large)"
            )
        reads = module.public_reads()
        aliases = [alias for alias in connections if alias != "default"]
        count, scans = plans.check(reads, tables=module.LARGE_TABLES, mentioning=module.MENTIONING, aliases=aliases)
        if count < len(reads):
            raise CommandError(f"{len(reads)} reads sent only {count} statements to the large tables")
        if scans:
            raise CommandError(f"{len(scans)} of {count} statements scan a large table:\n\n" + "\n\n".join(scans[:5]))
        self.stdout.write(
            f"query plans: {len(reads)} reads, {count} statements, none scans {sorted(module.LARGE_TABLES)}"
        )
