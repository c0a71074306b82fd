"""Every shard server is a real primary with a real streaming hot standby."""

import uuid

import pytest

from support import psql, wait_for

SERVERS = [
    (svc, db, n) for svc, db in (("user", "users"), ("product", "products"), ("order", "orders")) for n in (0, 1)
]


@pytest.mark.parametrize(("service", "database", "number"), SERVERS)
def test_primary_streams_to_its_replica(service, database, number):
    primary, replica = f"{service}-db-{number}", f"{service}-db-{number}-replica"
    # given: the replica is a standby that the primary streams to
    assert psql(replica, database, "SELECT pg_is_in_recovery()") == [["t"]]
    assert psql(primary, database, "SELECT pg_is_in_recovery()") == [["f"]]
    states = psql(primary, database, "SELECT state FROM pg_stat_replication")
    assert ["streaming"] in states
    # when: a row is written on the primary
    marker = uuid.uuid4().hex
    psql(primary, database, "CREATE TABLE IF NOT EXISTS replication_probe (marker text PRIMARY KEY)")
    psql(primary, database, f"INSERT INTO replication_probe VALUES ('{marker}')")
    # then: the replica has it within seconds
    wait_for(lambda: psql(replica, database, f"SELECT 1 FROM replication_probe WHERE marker = '{marker}'"), timeout=10)
    psql(primary, database, f"DELETE FROM replication_probe WHERE marker = '{marker}'")


def test_replica_refuses_writes():
    with pytest.raises(Exception) as failure:
        psql("user-db-0-replica", "users", "CREATE TABLE must_fail (x int)")
    assert "read-only" in str(failure.value.stderr)
