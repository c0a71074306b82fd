"""`manage.py wait_for_data_tier [--migrated]`: wait, with exponential backoff, until this service's data
tier can serve it.

Compose orders start-up with `depends_on`; Docker Swarm and Kubernetes start everything at once, so each
process waits by itself (deploy/images/django/start.sh runs this before gunicorn, Celery and migrations):

- every shard primary answers through PgBouncer (PgBouncer itself up, its servers reachable);
- with `--migrated` (web and worker), every primary has every migration of this service applied, so no
  request or event meets a missing table while `<svc>-migrate` is still running.

Replicas are not waited for (reads fall back to the primary), nor the broker: writes go to the outbox
and Celery retries its own connection at start (CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP).
Gives up with an error after `--timeout` seconds (WAIT_TIMEOUT_SECONDS, default 600): the orchestrator
restarts the process, and its restart policy adds its own delay.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections, router
from django.db.migrations.executor import MigrationExecutor

from shared.db import shards
from shared.settings.environ import env_int

FIRST_DELAY = 1.0
MAX_DELAY = 15.0


def not_ready(migrated: bool) -> list[str]:
    """What is missing, one line per shard primary; empty when the data tier can serve this service."""
    missing = []
    for alias in shards.primaries():
        connection = connections[alias]
        try:
            connection.ensure_connection()
            if migrated:
                executor = MigrationExecutor(connection)
                plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
                # only the apps whose tables this server keeps (the monolith's domains keep their own)
                plan = [(m, backwards) for m, backwards in plan if router.allow_migrate(alias, m.app_label)]
                if plan:
                    missing.append(f"{alias}: {len(plan)} migrations not applied")
        except DatabaseError as exc:
            missing.append(f"{alias}: {exc.__class__.__name__}: {str(exc).strip().splitlines()[0][:120]}")
            connection.close()
    return missing


def backoff_delays(first: float = FIRST_DELAY, limit: float = MAX_DELAY):
    """1, 2, 4, 8, 15, 15, ... seconds."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, limit)


class Command(BaseCommand):
    help = "Wait with backoff until every shard primary answers (and, with --migrated, is fully migrated)."

    def add_arguments(self, parser):
        parser.add_argument("--migrated", action="store_true", help="also wait for every migration to be applied")
        parser.add_argument("--timeout", type=float, default=env_int("WAIT_TIMEOUT_SECONDS", 600))

    def handle(self, *args, **options):
        deadline = time.monotonic() + options["timeout"]
        for delay in backoff_delays():
            missing = not_ready(options["migrated"])
            if not missing:
                self.stdout.write("data tier ready")
                return
            if time.monotonic() + delay > deadline:
                raise CommandError(f"data tier not ready after {options['timeout']:.0f} s: {'; '.join(missing)}")
            self.stdout.write(f"waiting {delay:.0f} s for: {'; '.join(missing)}")
            for alias in shards.primaries():
                connections[alias].close()
            time.sleep(delay)
