"""Maintenance commands reach each primary through PgBouncer's `<pool>_maint`, free of the statement timeout."""

from shared.db import databases
from shared.settings import test


class _Connection:
    def __init__(self, settings_dict):
        self.settings_dict = settings_dict
        self.closed = False

    def close(self):
        self.closed = True


class _Connections:
    def __init__(self, settings):
        self.settings = settings
        self._open = {alias: _Connection(db) for alias, db in settings.items()}

    def __getitem__(self, alias):
        return self._open[alias]


def test_every_primary_and_default_name_a_maintenance_pool_and_replicas_none(monkeypatch):
    monkeypatch.setenv("SHARD_TOPOLOGY", '{"db0": {"db0_replica": 1}, "db1": {"db1_replica": 1}}')
    found = databases.databases_from_env()
    assert {alias: db.get(databases.MAINTENANCE_NAME) for alias, db in found.items()} == {
        "default": "db0_maint",
        "db0": "db0_maint",
        "db0_replica": None,
        "db1": "db1_maint",
        "db1_replica": None,
    }
    # test-db is no PgBouncer: the unit tests' settings have no maintenance pools
    on_test_db = test.on_test_db(found, {"db0": None, "db1": None})
    assert all(databases.MAINTENANCE_NAME not in db for db in on_test_db.values())


def test_use_maintenance_pools_renames_and_reconnects_the_primaries_once(monkeypatch):
    monkeypatch.setenv("SHARD_TOPOLOGY", '{"db0": {"db0_replica": 1}}')
    fake = _Connections(databases.databases_from_env())
    monkeypatch.setattr(databases, "connections", fake)
    assert sorted(databases.use_maintenance_pools()) == ["db0", "default"]
    assert {alias: db["NAME"] for alias, db in fake.settings.items()} == {
        "default": "db0_maint",
        "db0": "db0_maint",
        "db0_replica": "db0_replica",
    }
    assert fake["db0"].closed and not fake["db0_replica"].closed
    assert databases.use_maintenance_pools() == []  # already there


def test_in_the_unit_tests_it_changes_nothing():
    assert databases.use_maintenance_pools() == []
