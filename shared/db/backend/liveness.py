"""The per-request health check of a persistent connection, without a round trip.

Django's `CONN_HEALTH_CHECKS` runs `SELECT 1` on each persistent connection the first time a request
(or a task) uses it. Through PgBouncer in transaction pooling that is a whole transaction: PgBouncer
lends a server connection, goes through the service's HAProxy to the leader and back, for every alias
every request touches (two of a catalog page's 4.5 statements, three of an order's 29, before this).

What the check is for here is the connection to PgBouncer: a PgBouncer restarted, or one that closed
an idle client. Both leave a closed socket behind, and a closed socket can be seen without asking the
server anything. libpq keeps its socket non-blocking, so `PQconsumeInput` reads whatever has arrived
since the last statement and returns at once: on an idle connection that is nothing, unless the peer
closed it (end of file: libpq marks the connection bad). A server that ends a session sends a FATAL
error first: the first read takes that message (libpq hands it to the notice handlers), and only a
second read meets the end of file, so the check reads twice. A connection that is not idle between
two requests is not trusted either.

What it cannot see is a peer that vanished without closing (a cut network). `SELECT 1` could not tell
that quickly either: it waits like any statement. Once a statement fails, Django asks `is_usable()`,
which still runs `SELECT 1`: after an error the round trip is worth its price.
"""

from __future__ import annotations

import psycopg
from psycopg import pq


def looks_alive(connection: psycopg.Connection) -> bool:
    """Whether an idle connection is still open at both ends, as far as the socket tells (no statement)."""
    if connection.closed:
        return False
    pgconn = connection.pgconn
    if pgconn.transaction_status != pq.TransactionStatus.IDLE:
        return False
    try:
        for _ in range(2):  # a closing server's last message, then its end of file
            pgconn.consume_input()
    except psycopg.OperationalError:
        return False
    return pgconn.status == pq.ConnStatus.OK
