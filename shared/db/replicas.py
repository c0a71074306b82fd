"""Choosing the database a read goes to: a healthy, fresh replica of the right shard, else its primary.

- Weighted random choice among the replicas of a server (the seed's LoadBalancedDatabaseRouter).
- A replica whose connection breaks during a query (`is_connection_error`), that fails a probe, that
  does not stream from its primary (no WAL receiver: it would serve ever older data while its replay
  lag looks like 0), or whose replay lag exceeds `REPLICA_MAX_LAG_SECONDS`, leaves the rotation for
  `REPLICA_RETRY_SECONDS`; with no replica left, reads use the primary. Any other error of a query
  (bad input: DataError, ProgrammingError, IntegrityError; a statement timeout) is the query's own
  and propagates.
- A bulkhead: at most `REPLICA_MAX_IN_FLIGHT` reads of a process wait on one replica at a time; more go
  to the primary. A replica that hangs (accepts, never answers) holds that many threads until
  PgBouncer's query_timeout ends their queries, which takes it out of rotation; never every thread.
- Read-your-writes: while the request is pinned (see `pinning.py`), reads use the primary.

State is per process (each gunicorn worker keeps its own view), which is what a router inside a
worker can know without another network hop.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.db.models import Model, QuerySet
from django.db.models.manager import BaseManager
from prometheus_client import Counter

from shared.db import ids, pinning, shards
from shared.db.failures import is_connection_error

logger = logging.getLogger(__name__)
T = TypeVar("T")

# A standby whose WAL receiver is not running (its primary is gone, or it lost its slot) replays
# nothing more while it looks caught up: its lag is infinite. Anyone sees the receiver's pid
# (the details need pg_read_all_stats). Otherwise: bytes of WAL received but not yet replayed are 0 on
# an idle, caught-up standby; only then is the age of the last replayed transaction a lag (on an idle
# primary it just grows).
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN NULL
    WHEN NOT EXISTS (SELECT FROM pg_stat_wal_receiver WHERE pid IS NOT NULL) THEN 'Infinity'::float8
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
END
"""


class ReplicaHealth:
    """Per-process view of which replicas are usable, refreshed by a cheap probe every few seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down_until: dict[str, float] = {}
        self._checked_at: dict[str, float] = {}
        self._in_flight: dict[str, int] = {}

    def enter(self, alias: str) -> bool:
        """Count a read starting on `alias`; False (and nothing counted) when it has all it may have."""
        with self._lock:
            if self._in_flight.get(alias, 0) >= settings.REPLICA_MAX_IN_FLIGHT:
                return False
            self._in_flight[alias] = self._in_flight.get(alias, 0) + 1
            return True

    def leave(self, alias: str) -> None:
        with self._lock:
            self._in_flight[alias] = max(0, self._in_flight.get(alias, 1) - 1)

    def mark_down(self, alias: str, reason: str) -> None:
        retry = settings.REPLICA_RETRY_SECONDS
        with self._lock:
            self._down_until[alias] = time.monotonic() + retry
        logger.warning("replica %s out of rotation for %ss: %s", alias, retry, reason)

    def is_usable(self, alias: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if self._down_until.get(alias, 0) > now:
                return False
            due = now - self._checked_at.get(alias, 0) >= settings.REPLICA_CHECK_SECONDS
            if due:
                self._checked_at[alias] = now
        return self._probe(alias) if due else True

    def _probe(self, alias: str) -> bool:
        if not self.enter(alias):  # a probe waits on the replica like a read: inside the bulkhead
            return False
        try:
            lag = replica_lag_seconds(alias)
        except (DatabaseError, InterfaceError) as exc:  # the probe's SQL is ours: any error is the replica's
            connections[alias].close()
            self.mark_down(alias, f"probe failed: {exc.__class__.__name__}")
            return False
        finally:
            self.leave(alias)
        if lag == math.inf:
            self.mark_down(alias, "not streaming from its primary (no WAL receiver)")
            return False
        if lag is not None and lag > settings.REPLICA_MAX_LAG_SECONDS:
            self.mark_down(alias, f"replay lag {lag:.1f}s")
            return False
        return True

    def reset(self) -> None:
        with self._lock:
            self._down_until.clear()
            self._checked_at.clear()
            self._in_flight.clear()


health = ReplicaHealth()


def replica_lag_seconds(alias: str) -> float | None:
    """Replay lag of the replica behind `alias` in seconds (None if it is not a standby, infinite if it
    does not stream from its primary)."""
    with connections[alias].cursor() as cursor:
        cursor.execute(LAG_SQL)
        value = cursor.fetchone()[0]
    return None if value is None else float(value)


def read_alias(primary: str) -> str:
    """The alias a read of data on server `primary` should use now."""
    if pinning.is_pinned():
        return primary
    replicas = shards.topology()[primary].replicas
    usable = [alias for alias in replicas if health.is_usable(alias)]
    if not usable:
        return primary
    return random.choices(usable, weights=[replicas[alias] for alias in usable])[0]


# where reads went, and why a read that could have gone to a replica went to the primary
READS = Counter("db_reads_total", "reads by target (replica, primary) and reason", ["target", "reason"])


def run_read(primary: str, read: Callable[[str], T]) -> T:
    """Run `read(alias)` on a replica of `primary`; if the replica's connection fails mid-query, on the primary.

    Querysets are lazy, so `read` must evaluate them (`list(...)`, `.get()`, `.count()`). An error
    that is not the connection's (`is_connection_error`) propagates and leaves the replica in rotation:
    input that makes a query fail must not take replicas out for everyone. A replica with
    `REPLICA_MAX_IN_FLIGHT` reads of this process waiting on it gets no more (the bulkhead).
    A read that the primary cannot answer either (it is down, or being replaced by its standby) is
    read from a standby as a last resort (`_read_without_primary`).
    """
    alias = read_alias(primary)
    if alias == primary:
        return _read_primary(primary, read, "pinned" if pinning.is_pinned() else "no usable replica")
    if not health.enter(alias):
        return _read_primary(primary, read, "replica busy")
    try:
        result = read(alias)
        READS.labels("replica", "replica").inc()
        return result
    except (OperationalError, InterfaceError) as exc:
        if not is_connection_error(exc):
            raise
        connections[alias].close()
        health.mark_down(alias, f"query failed: {exc.__class__.__name__}")
        return _read_primary(primary, read, "replica failed")
    finally:
        health.leave(alias)


def _read_primary(primary: str, read: Callable[[str], T], reason: str) -> T:
    READS.labels("primary", reason).inc()
    try:
        return read(primary)
    except (OperationalError, InterfaceError) as exc:
        if not is_connection_error(exc):
            raise
        connections[primary].close()
        return _read_without_primary(primary, read, exc)


def _read_without_primary(primary: str, read: Callable[[str], T], primary_error: Exception) -> T:
    """`read` on any standby of `primary`, stale or taken out of rotation: with no primary to read from,
    a standby's data (which may lack the last writes) beats no answer. With no standby answering either,
    the primary's error propagates (a 503, `shared.http.errors`)."""
    for alias in shards.topology()[primary].replicas:
        try:
            result = read(alias)
        except (OperationalError, InterfaceError) as exc:
            if not is_connection_error(exc):
                raise
            connections[alias].close()
            continue
        READS.labels("replica", "primary unreachable").inc()
        logger.warning("primary %s unreachable: read served by its standby %s", primary, alias)
        return result
    raise primary_error


def run_read_for_id(object_id: int, read: Callable[[str], T]) -> T:
    """`run_read` on the server holding `object_id` (UnknownShard if no server holds its shard)."""
    return run_read(shards.primary_for_id(object_id), read)


def read_by_id(source: type[Model] | BaseManager | QuerySet | Callable[[str], T | None], object_id: int) -> T | None:
    """The row `object_id`, read from a replica of its shard (the primary when pinned); None if there is none.

    `source` is a model, a manager or an unrouted queryset (filters, `select_related`...), whose row
    with primary key `object_id` is read, or a callable `read(alias)` returning the row or None.
    An ID of a logical shard no server holds (e.g. made by another service) is simply not found.
    """
    if isinstance(source, type) and issubclass(source, Model):
        source = source._default_manager
    if isinstance(source, BaseManager):
        source = source.all()
    read = _first_with_pk(source, object_id) if isinstance(source, QuerySet) else source
    try:
        primary = shards.primary_for_id(object_id)
    except shards.UnknownShard:
        return None
    found = run_read(primary, read)
    if found is None and _just_made(object_id):
        # a row made a moment ago may not have reached the standby yet, and a client that keeps no
        # cookies has no pin (pinning.py): its ID says when it was made, so only such misses cost a
        # primary read, never a miss of an old or made-up ID
        return read(primary)
    return found


def _just_made(object_id: int) -> bool:
    age_ms = time.time() * 1000 - ids.timestamp_ms_of(object_id)
    return 0 <= age_ms <= settings.PIN_SECONDS * 1000


def _first_with_pk(queryset: QuerySet, object_id: int) -> Callable[[str], Model | None]:
    return lambda alias: queryset.using(alias).filter(pk=object_id).first()
