"""Telling a database server that cannot be reached from a query that the server refused.

The replica router takes a standby out of rotation on the first kind only, and the error handlers
answer it with 503 and Retry-After (`shared.errors.DatabaseUnavailable`) instead of a 500. A statement
that its server cancelled (the statement timeout) is of the second kind, but it is answered with 503 and
Retry-After too (`shared.errors.DatabaseTimeout`): it was rolled back, and may be sent again.
"""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

# SQLSTATEs of a connection that is gone: class 08 (connection exception) and the server shutting down or
# starting up (57P01-57P03). 57014 (query_canceled: a statement timeout) is the query's, not the server's.
_CONNECTION_SQLSTATE_PREFIXES = ("08", "57P01", "57P02", "57P03")
QUERY_CANCELED = "57014"


def is_connection_error(exc: BaseException) -> bool:
    """Whether `exc` says the connection to the server failed, rather than that the query was refused.

    Django wraps psycopg's errors in its own classes of the same names, with psycopg's as `__cause__`.
    An InterfaceError is a connection that is closed or unusable. An OperationalError is one when
    psycopg gave no SQLSTATE (it failed on the client side: connection refused, reset, closed by the
    server) or a connection-level SQLSTATE (PgBouncer's errors, e.g. no server connection, are 08P01).
    """
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    sqlstate = getattr(exc.__cause__, "sqlstate", None) or getattr(exc, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith(_CONNECTION_SQLSTATE_PREFIXES)


def is_statement_timeout(exc: BaseException) -> bool:
    """Whether `exc` is a statement its server cancelled (57014: the statement timeout, or a cancel request)."""
    if not isinstance(exc, OperationalError):
        return False
    return (getattr(exc.__cause__, "sqlstate", None) or getattr(exc, "sqlstate", None)) == QUERY_CANCELED
