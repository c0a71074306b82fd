"""`manage.py wait_for_data_tier`: what Swarm and Kubernetes processes wait for at start, with backoff."""

import pytest
from django.core.management import CommandError, call_command

from shared.db.management.commands import wait_for_data_tier as wait


@pytest.mark.django_db(databases="__all__")
def test_a_migrated_data_tier_is_ready():
    assert wait.not_ready(migrated=True) == []


@pytest.mark.django_db(databases="__all__")
def test_a_missing_migration_is_waited_for(monkeypatch):
    # given: the last migration of an app recorded as not applied on every primary
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.recorder import MigrationRecorder

    from shared.db import shards

    last = max(node for node in MigrationLoader(None).graph.leaf_nodes() if node[0] == "events")
    for alias in shards.primaries():
        MigrationRecorder(wait.connections[alias]).record_unapplied(*last)
    # then
    missing = wait.not_ready(migrated=True)
    assert len(missing) == len(shards.primaries())
    assert all("migrations not applied" in line for line in missing)
    assert wait.not_ready(migrated=False) == []


def test_backoff_doubles_up_to_its_limit():
    delays = wait.backoff_delays()
    assert [next(delays) for _ in range(7)] == [1, 2, 4, 8, 15, 15, 15]


def test_it_retries_until_ready_and_gives_up_after_the_timeout(monkeypatch):
    # a clock that only the waits move
    clock, slept = [0.0], []

    def sleep(seconds):
        slept.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(wait.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(wait.time, "sleep", sleep)
    answers = [["db0: OperationalError"], ["db0: 2 migrations not applied"], []]
    monkeypatch.setattr(wait, "not_ready", lambda migrated: answers.pop(0))
    call_command("wait_for_data_tier", "--migrated")
    assert slept == [1, 2]
    # never ready: an error once the next wait would pass the deadline (1 + 2 + 4 = 7 > 5)
    slept.clear()
    monkeypatch.setattr(wait, "not_ready", lambda migrated: ["db0: OperationalError"])
    with pytest.raises(CommandError, match="not ready after 5 s"):
        call_command("wait_for_data_tier", "--timeout", "5")
    assert slept == [1, 2]
