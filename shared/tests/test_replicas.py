import math
import threading
import time
from collections import defaultdict
from types import SimpleNamespace

import psycopg.errors
import pytest
from django.db import DataError, IntegrityError, InterfaceError, OperationalError, ProgrammingError

from shared.db import failures, ids, pinning, replicas, shards
from shared.db.shardmap import ShardServer


@pytest.fixture(autouse=True)
def fresh_health(monkeypatch, settings):
    settings.SHARD_TOPOLOGY = {
        "db0": ShardServer("db0", {"db0_replica": 1}),
        "db1": ShardServer("db1", {"db1_replica": 1}),
    }
    settings.REPLICA_CHECK_SECONDS = 0
    settings.REPLICA_RETRY_SECONDS = 5
    settings.REPLICA_MAX_LAG_SECONDS = 5
    replicas.health.reset()
    # the aliases here are made up: closing a broken connection is a no-op for them
    monkeypatch.setattr(replicas, "connections", defaultdict(lambda: SimpleNamespace(close=lambda: None)))
    lags = {}
    monkeypatch.setattr(replicas, "replica_lag_seconds", lambda alias: _lag(lags, alias))
    yield lags
    replicas.health.reset()


def _lag(lags, alias):
    value = lags.get(alias, 0.0)
    if isinstance(value, Exception):
        raise value
    return value


def test_reads_go_to_the_replica_of_the_server():
    assert replicas.read_alias("db0") == "db0_replica"
    assert replicas.read_alias(shards.primary_for_shard(15)) == "db1_replica"


def test_pinned_reads_go_to_the_primary():
    token = pinning._pinned.set(True)
    try:
        assert replicas.read_alias("db0") == "db0"
    finally:
        pinning._pinned.reset(token)


def test_lagging_replica_leaves_rotation_and_returns_after_the_retry_window(fresh_health, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(replicas.time, "monotonic", lambda: clock[0])
    fresh_health["db0_replica"] = 30.0
    assert replicas.read_alias("db0") == "db0"
    # caught up, but still inside the retry window
    fresh_health["db0_replica"] = 0.0
    clock[0] += 1
    assert replicas.read_alias("db0") == "db0"
    # window over
    clock[0] += 5
    assert replicas.read_alias("db0") == "db0_replica"


def test_replica_that_is_down_falls_back_to_the_primary(fresh_health):
    fresh_health["db1_replica"] = OperationalError("connection refused")
    assert replicas.read_alias("db1") == "db1"


def test_all_replicas_down_means_primary(fresh_health, settings):
    settings.SHARD_TOPOLOGY = {"db0": ShardServer("db0", {"db0_replica": 1, "db0_replica_b": 1})}
    fresh_health["db0_replica"] = OperationalError("down")
    fresh_health["db0_replica_b"] = OperationalError("down")
    assert replicas.read_alias("db0") == "db0"


def test_weighted_choice_between_replicas(settings):
    settings.SHARD_TOPOLOGY = {"db0": ShardServer("db0", {"db0_replica": 3, "db0_replica_b": 1})}
    picks = [replicas.read_alias("db0") for _ in range(4000)]
    share = picks.count("db0_replica") / len(picks)
    assert 0.70 < share < 0.80


def test_a_read_that_fails_on_the_replica_is_retried_on_the_primary():
    used = []

    def read(alias):
        used.append(alias)
        if alias.endswith("_replica"):
            raise OperationalError("server closed the connection")
        return "rows"

    assert replicas.run_read("db0", read) == "rows"
    assert used == ["db0_replica", "db0"]
    assert replicas.read_alias("db0") == "db0"  # and it stays out for the retry window


def test_read_by_id_reads_on_a_replica_of_the_server_holding_the_id():
    used = []
    object_id = ids.compose(timestamp_ms=ids.ID_EPOCH_MS, shard=12, sequence=1)  # db1 in the even map

    assert replicas.read_by_id(lambda alias: used.append(alias) or "row", object_id) == "row"
    assert used == ["db1_replica"]


def test_read_by_id_of_an_unknown_shard_is_none_and_reads_nothing():
    used = []
    foreign = ids.compose(timestamp_ms=ids.ID_EPOCH_MS, shard=500, sequence=1)

    assert replicas.read_by_id(lambda alias: used.append(alias), foreign) is None
    assert used == []


def _django_error(cls, cause):
    """A Django database error as Django raises it: wrapping psycopg's, which is its __cause__."""
    try:
        raise cls(str(cause)) from cause
    except cls as exc:
        return exc


def _failing_on_replica(error):
    used = []

    def read(alias):
        used.append(alias)
        if alias.endswith("_replica"):
            raise error
        return "rows"

    return read, used


@pytest.mark.parametrize(
    "error",
    [
        _django_error(DataError, psycopg.errors.NumericValueOutOfRange("integer out of range")),
        _django_error(DataError, psycopg.errors.CharacterNotInRepertoire("invalid byte sequence")),
        _django_error(ProgrammingError, psycopg.errors.UndefinedColumn("column does not exist")),
        _django_error(IntegrityError, psycopg.errors.UniqueViolation("duplicate key")),
        _django_error(OperationalError, psycopg.errors.QueryCanceled("canceling statement due to statement timeout")),
    ],
    ids=["data", "encoding", "programming", "integrity", "statement-timeout"],
)
def test_an_error_of_the_query_propagates_and_leaves_the_replica_in_rotation(error):
    # given
    read, used = _failing_on_replica(error)
    # when
    with pytest.raises(type(error)):
        replicas.run_read("db0", read)
    # then: not retried on the primary, and the replica still serves the next read
    assert used == ["db0_replica"]
    assert replicas.read_alias("db0") == "db0_replica"


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("server closed the connection unexpectedly"),
        _django_error(OperationalError, psycopg.OperationalError("consuming input failed: EOF")),
        _django_error(OperationalError, psycopg.errors.AdminShutdown("terminating connection")),
        _django_error(OperationalError, psycopg.errors.ProtocolViolation("no more connections allowed")),
        _django_error(InterfaceError, psycopg.InterfaceError("the connection is closed")),
    ],
    ids=["closed", "no-sqlstate", "admin-shutdown", "pgbouncer", "interface"],
)
def test_a_broken_connection_marks_the_replica_down_and_reads_the_primary(error):
    # given
    read, used = _failing_on_replica(error)
    # when
    assert replicas.run_read("db0", read) == "rows"
    # then
    assert used == ["db0_replica", "db0"]
    assert replicas.read_alias("db0") == "db0"


def test_is_connection_error_looks_at_what_django_wrapped():
    assert failures.is_connection_error(_django_error(OperationalError, psycopg.errors.ConnectionFailure("x")))
    assert not failures.is_connection_error(_django_error(OperationalError, psycopg.errors.QueryCanceled("x")))
    assert not failures.is_connection_error(_django_error(DataError, psycopg.errors.DataError("x")))
    assert not failures.is_connection_error(ValueError("not a database error"))


def test_a_standby_that_does_not_stream_leaves_the_rotation_though_its_replay_looks_caught_up(fresh_health):
    # given: db0's standby has no WAL receiver (LAG_SQL gives an infinite lag)
    fresh_health["db0_replica"] = math.inf
    # then: its reads go to the primary, the other server's standby stays in rotation
    assert replicas.read_alias("db0") == "db0"
    assert replicas.read_alias("db1") == "db1_replica"


def test_a_replica_holds_no_more_waiting_reads_than_the_bulkhead_allows(fresh_health, settings):
    # given: two reads of this process are waiting on db0's replica (it hangs)
    settings.REPLICA_MAX_IN_FLIGHT = 2
    waiting, release, served_by = threading.Barrier(3), threading.Event(), []

    def hanging_read(alias):
        served_by.append(alias)
        if alias == "db0_replica":
            waiting.wait(timeout=5)
            release.wait(timeout=5)
        return alias

    stuck = [threading.Thread(target=replicas.run_read, args=("db0", hanging_read)) for _ in range(2)]
    for thread in stuck:
        thread.start()
    waiting.wait(timeout=5)
    # when: a third read comes
    third = replicas.run_read("db0", hanging_read)
    release.set()
    for thread in stuck:
        thread.join(timeout=5)
    # then: it went to the primary at once; once the replica answers, it gets reads again
    assert third == "db0"
    assert replicas.run_read("db0", lambda alias: alias) == "db0_replica"


def test_a_miss_of_a_row_made_a_moment_ago_is_read_again_on_the_primary_and_an_old_miss_is_not():
    def on_primary_only(alias):
        return "row" if alias == "db0" else None

    fresh = ids.compose(timestamp_ms=int(time.time() * 1000), shard=0, sequence=1)
    old = ids.compose(timestamp_ms=int(time.time() * 1000) - 60_000, shard=0, sequence=1)
    assert replicas.read_by_id(on_primary_only, fresh) == "row"  # the standby had not replayed it yet
    assert replicas.read_by_id(on_primary_only, old) is None  # an old ID missing is missing: no primary read


def test_each_read_is_counted_by_where_it_went_and_why():
    def count(target, reason):
        return replicas.READS.labels(target, reason)._value.get()

    before = {
        key: count(*key) for key in [("replica", "replica"), ("primary", "pinned"), ("primary", "replica failed")]
    }
    replicas.run_read("db0", lambda alias: alias)
    token = pinning._pinned.set(True)
    try:
        replicas.run_read("db0", lambda alias: alias)
    finally:
        pinning._pinned.reset(token)

    def fails_on_the_replica(alias):
        if alias.endswith("_replica"):
            raise OperationalError("server closed the connection")
        return alias

    replicas.run_read("db1", fails_on_the_replica)
    assert {key: count(*key) - value for key, value in before.items()} == {
        ("replica", "replica"): 1,
        ("primary", "pinned"): 1,
        ("primary", "replica failed"): 1,
    }


def _primary_down(*down: str):
    """A read that fails to connect on each alias in `down` and answers its alias elsewhere."""
    used = []

    def read(alias):
        used.append(alias)
        if alias in down:
            raise _django_error(OperationalError, psycopg.errors.ProtocolViolation("cannot connect to server"))
        return alias

    return read, used


def test_with_its_primary_unreachable_a_read_is_served_by_a_standby_out_of_rotation(fresh_health):
    # given: the standby left the rotation (it stopped streaming when its primary went away)
    fresh_health["db0_replica"] = math.inf
    read, used = _primary_down("db0")
    # when
    answered = replicas.run_read("db0", read)
    # then: the primary was tried first, the standby answered
    assert (answered, used) == ("db0_replica", ["db0", "db0_replica"])


def test_a_pinned_read_with_its_primary_unreachable_is_served_by_a_standby():
    read, used = _primary_down("db0")
    token = pinning._pinned.set(True)
    try:
        assert replicas.run_read("db0", read) == "db0_replica"
    finally:
        pinning._pinned.reset(token)
    assert used == ["db0", "db0_replica"]


def test_with_neither_the_primary_nor_a_standby_answering_the_primarys_error_propagates(fresh_health):
    fresh_health["db0_replica"] = math.inf
    read, used = _primary_down("db0", "db0_replica")
    with pytest.raises(OperationalError) as raised:
        replicas.run_read("db0", read)
    assert failures.is_connection_error(raised.value) and used == ["db0", "db0_replica"]
