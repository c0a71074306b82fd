"""The application errors of the platform: the one set every service, the gateway and shared/ raise.

Domain code raises these and knows nothing of HTTP frameworks; `shared.http.errors.exception_handler`
turns each into the one JSON error shape with its status code:

    {"error": {"code": "validation_error", "message": "...", "fields": {...}}}

Subclass `ApplicationError` (or one of the classes below) and set `status_code` and `code` to add a kind.
"""

from __future__ import annotations


class ApplicationError(Exception):
    """A domain error; becomes a 4xx/5xx in the one error shape."""

    status_code = 400
    code = "invalid"
    # seconds a client should wait before retrying (sent as Retry-After), or None
    retry_after: int | None = None

    def __init__(self, message: str, *, code: str | None = None, status_code: int | None = None, fields=None):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.status_code = status_code or self.status_code
        self.fields = fields


class ValidationFailed(ApplicationError):
    """Input that breaks a rule: `fields` maps each field to its messages."""

    code = "validation_error"

    def __init__(self, fields: dict[str, list[str]], message: str = "The request is invalid."):
        super().__init__(message, fields=fields)


class NotAuthenticated(ApplicationError):
    status_code = 401
    code = "not_authenticated"


class NotFound(ApplicationError):
    status_code = 404
    code = "not_found"


class Conflict(ApplicationError):
    status_code = 409
    code = "conflict"


class ShardMoving(ApplicationError):
    """A write to a logical shard whose rows are being moved to another server right now."""

    status_code = 503
    code = "shard_moving"
    retry_after = 2

    def __init__(self, shard: int):
        super().__init__("This data is being moved to another server; retry in a few seconds.")
        self.shard = shard


class DatabaseUnavailable(ApplicationError):
    """The server that holds this data cannot be reached: its primary is down or being replaced.

    Raised for a connection that failed (see `shared.db.failures.is_connection_error`), never for a
    query the server refused. Nothing is half-written (a transaction commits whole or not at all), and
    the same request may be sent again once the primary is back (Patroni promotes its standby within
    about 20 s: see the README's Failover section). A connection lost during COMMIT itself leaves the
    outcome unknown: an order sent again with the same Idempotency-Key finds the first one if it was
    written."""

    status_code = 503
    code = "database_unavailable"
    retry_after = 5

    def __init__(self, message: str = "The database server for this data is unavailable; retry in a few seconds."):
        super().__init__(message)


class DatabaseTimeout(ApplicationError):
    """A statement ran out of time on its server (the role's statement timeout, or a cancel request) and
    was rolled back with its transaction: nothing is written, and the request may be sent again."""

    status_code = 503
    code = "database_timeout"
    retry_after = 5

    def __init__(self, message: str = "The database did not finish this request in time; retry in a few seconds."):
        super().__init__(message)


class CommitUnconfirmed(ApplicationError):
    """A COMMIT was cancelled while it waited for the synchronous standby (`shared/db/backend/base.py`).

    It is committed on the leader but not acknowledged, as a failover now could lose it. Sent again with
    the same Idempotency-Key, the request finds what the first attempt wrote if it survived."""

    status_code = 503
    code = "commit_unconfirmed"
    retry_after = 5

    def __init__(self, alias: str):
        super().__init__(
            "The write was not confirmed by the standby database server in time and is not acknowledged; "
            "send it again (with the same Idempotency-Key) in a few seconds."
        )
        self.alias = alias


class UpstreamUnavailable(ApplicationError):
    """Another service did not answer in time or at all."""

    status_code = 503
    code = "upstream_unavailable"


class UpstreamTimeout(ApplicationError):
    """Another service took longer than the read timeout."""

    status_code = 504
    code = "upstream_timeout"
