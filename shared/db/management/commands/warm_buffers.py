"""`manage.py warm_buffers`: read the indexes this service's public reads walk into every server's buffers.

After a bulk load (`make seed SIZE=large` runs this last) a server's shared buffers hold what the load
and its replay touched last, not what the reads walk: each read then fetches its index pages from the
OS page cache or the disk, one system call a page (on 2,000,000 products, a frequent word's first page
by name read 1,000-3,400 such pages on a standby: 15-40 ms a statement, 5-26 ms warm). A running shop's
traffic keeps them warm; this does it at once, and the autoprewarm worker (postgresql.conf) keeps them
across a restart.

Which indexes: those in the plans of the service's public reads (its `QUERY_PLANS` module, the reads
`check_query_plans` checks), EXPLAINed on the data held now; each is read into the buffers of every
server of the service, primaries and standbys (`pg_prewarm`, the extension deploy/postgres/roles.sh
makes). The tables' rows stay where they are: a page of results reads a few dozen of them.
"""

from importlib import import_module
from time import monotonic

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from shared import domains
from shared.db import plans, shards

MB = 1 << 20


def _sizes(alias: str, indexes: set[str]) -> dict[str, int]:
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT relname, pg_relation_size(oid) FROM pg_class WHERE relkind = 'i' AND relname = ANY(%s)",
            [sorted(indexes)],
        )
        return dict(cursor.fetchall())


def _buffers(alias: str) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT setting::bigint * 8192 FROM pg_settings WHERE name = 'shared_buffers'")
        return cursor.fetchone()[0]


def _prewarm(alias: str, index: str) -> int:
    """Read `index` into `alias`'s shared buffers; the number of 8 kB blocks read."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_prewarm(%s::regclass)", [index])
        return cursor.fetchone()[0]


class Command(BaseCommand):
    help = "Read the indexes of this service's public reads into the shared buffers of each of its servers."

    def handle(self, *args, **options):
        module = import_module(domains.setting("QUERY_PLANS"))
        aliases = [alias for server in shards.topology().values() for alias in (server.primary, *server.replicas)]
        statements = [
            statement
            for read in module.public_reads()
            for statement in plans.statements_sent(read, mentioning=module.MENTIONING, aliases=aliases)
        ]
        indexes = set().union(*(plans.indexes_read(alias, sql) for alias, sql in statements))
        if not indexes:
            raise CommandError(f"{len(statements)} statements of the public reads read no index")
        for alias in aliases:
            started, sizes, room = monotonic(), _sizes(alias, indexes), _buffers(alias)
            # smallest first, and none that would push out one read before it (the buffers are full)
            warmed, left_out, total = [], [], 0
            for index in sorted(sizes, key=sizes.get):
                if total + sizes[index] > room:
                    left_out.append(index)
                    continue
                total += sizes[index]
                warmed.append(index)
            blocks = sum(_prewarm(alias, index) for index in warmed)
            beyond = f"; beyond its {room // MB} MB of buffers, left out: {', '.join(left_out)}" if left_out else ""
            self.stdout.write(
                f"{alias}: {len(warmed)} indexes, {total // MB} MB, {blocks} blocks read"
                f" in {monotonic() - started:.1f} s: {', '.join(sorted(warmed))}{beyond}"
            )
