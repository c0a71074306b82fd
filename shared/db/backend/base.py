"""The platform's PostgreSQL backend: django-prometheus's, with three changes.

1. A commit that its synchronous standby did not confirm is not reported as done (below).
2. The per-request health check of a persistent connection looks at its socket instead of running
   `SELECT 1` through PgBouncer (`liveness.py`).
3. timestamptz values are parsed by psycopg's C loader, not its pure-Python one (`timestamps.py`).

Unconfirmed commits.

Every shard server runs Patroni's synchronous mode: COMMIT returns once the synchronous standby has the
transaction, so what is acknowledged survives losing the leader. But when COMMIT is cancelled while it
waits for the standby, PostgreSQL does not fail it: the transaction is already committed on the leader,
so the server sends a WARNING ("canceling wait for synchronous replication due to user request"; detail:
"The transaction has already committed locally, but might not have been replicated to the standby") and
COMMIT succeeds. A client that took that as done would acknowledge an order that a failover can lose:
the standby stops confirming exactly when it is cut off or hangs, which is when the leader may go next.

What cancels such a wait is a cancel request: an operator's `pg_cancel_backend` on a COMMIT that seems
stuck, or a client's cancel forwarded by PgBouncer. Not the role's statement timeout: PostgreSQL turns
it off before the commit proper (postgres.c, finish_xact_command), so a COMMIT waits for the standby as
long as Patroni keeps it synchronous. Nor PgBouncer's query_timeout: it drops the connection, and the
client gets an error (503 `database_unavailable`), never a success.

This backend listens for that notice on each connection, and such a commit raises
`shared.errors.CommitUnconfirmed` (503 `commit_unconfirmed` with Retry-After) once Django has finished
it. That is not a DatabaseError, on purpose: `transaction.atomic` then does not roll back its bookkeeping,
and the on-commit hooks run, since the rows are committed on the leader that every reader now sees
(events relayed, caches dropped). A Celery task that raises it is retried; its inbox entry makes the
retry a no-op if the first attempt survived. A client that sends the request again with the same
Idempotency-Key gets the first attempt's order if it survived, or a new one if it was lost.

A statement in autocommit mode commits by itself; its notice is logged, not raised, unless the statement
runs in `statement_confirmed()`, which raises CommitUnconfirmed the same way: a write that is one
statement (`shared.db.inserts.insert_together`, an order placed; `shared.events.inbox.inbox_apply`, an
event's claim with its effect) is confirmed like a transaction. What
else the platform writes in autocommit is harmless to lose: the outbox's sent marks (the event is sent
again, the inbox absorbs it) and the ID counter (`shared/db/ids.py`).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

from django.conf import settings
from django_prometheus.db.backends.postgresql import base

from shared.db.backend.liveness import looks_alive
from shared.db.backend.timestamps import adapters_template
from shared.errors import CommitUnconfirmed

logger = logging.getLogger(__name__)

# in both of PostgreSQL's messages for a cancelled wait (src/backend/replication/syncrep.c): "canceling
# wait for ..." (a cancel: the session goes on) and "canceling the wait for ... and terminating connection"
SYNC_REP_CANCELLED = "wait for synchronous replication"


class _CancelledWait:
    """The connection's notice handler: whether a cancelled wait was seen. No reference to the wrapper."""

    def __init__(self, alias: str):
        self.alias = alias
        self.seen = False

    def __call__(self, diagnostic) -> None:
        message = diagnostic.message_primary or ""
        if SYNC_REP_CANCELLED in message:
            self.seen = True
            logger.warning("%s: %s (%s)", self.alias, message, diagnostic.message_detail or "")


class DatabaseWrapper(base.DatabaseWrapper):
    _cancelled_wait: _CancelledWait | None = None

    def get_connection_params(self):
        params = super().get_connection_params()
        params["context"] = adapters_template(settings.USE_TZ, self.timezone)  # in place of Django's
        return params

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        self._cancelled_wait = _CancelledWait(self.alias)
        connection.add_notice_handler(self._cancelled_wait)
        return connection

    @contextmanager
    def _confirmed(self):
        """CommitUnconfirmed after the block when a commit in it had its wait for the standby cancelled."""
        watch = self._cancelled_wait
        if watch is None:
            yield
            return
        watch.seen = False
        yield
        if watch.seen:
            raise CommitUnconfirmed(self.alias)

    def commit(self):
        with self._confirmed():
            super().commit()

    @contextmanager
    def statement_confirmed(self):
        """Around a statement that commits by itself (autocommit): CommitUnconfirmed after it when its
        wait for the standby was cancelled, as `commit()` does for a transaction. Inside a transaction
        it does nothing: that transaction's COMMIT is checked."""
        self.ensure_connection()
        if self.in_atomic_block:
            yield
            return
        with self._confirmed():
            yield

    def close_if_health_check_failed(self):
        """Django's check with `CONN_HEALTH_CHECKS`, once per request and alias, without a statement."""
        if self.connection is None or not self.health_check_enabled or self.health_check_done:
            return
        if not looks_alive(self.connection):
            self.close()
        self.health_check_done = True
