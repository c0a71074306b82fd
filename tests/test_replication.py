"""Every shard server is a real leader with a real streaming hot standby (which member is which: Patroni's
view, tests/support.py), and losing the leader costs its writes a JSON 503 until the standby is promoted."""

import subprocess
import time
import uuid

import pytest

from support import (
    Client,
    assert_error,
    compose,
    lead_with_first_member,
    leader_of,
    patroni,
    psql,
    server_of,
    standby_of,
    wait_for,
)

pytestmark = pytest.mark.topology  # the data tier, the same in both modes: run once

SERVERS = [
    (svc, db, n) for svc, db in (("user", "users"), ("product", "products"), ("order", "orders")) for n in (0, 1)
]


@pytest.mark.parametrize(("service", "database", "number"), SERVERS)
def test_primary_streams_to_its_replica(service, database, number):
    server = f"{service}-db-{number}"
    primary, replica = leader_of(server), standby_of(server)
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
        psql(standby_of("user-db-0"), "users", "CREATE TABLE must_fail (x int)")
    assert "read-only" in str(failure.value.stderr)


def _receiving(replica: str, database: str) -> bool:
    return psql(replica, database, "SELECT count(*) FROM pg_stat_wal_receiver WHERE pid IS NOT NULL") == [["1"]]


def test_a_standby_that_stops_streaming_is_reported_and_serves_no_read(admin):
    """A standby cut off from its primary looks caught up (nothing received, nothing to replay) while it
    falls ever further behind: the services must notice the missing WAL receiver, not trust a zero lag."""
    leader, replica, database = leader_of("product-db-1"), standby_of("product-db-1"), "products"
    try:
        # given: the standby of product-db-1 stops streaming: its leader lets no replication login in and
        # ends the stream (the standby stays up and reachable)
        psql(leader, database, "ALTER ROLE replicator NOLOGIN")
        psql(leader, database, "SELECT pg_terminate_backend(pid) FROM pg_stat_replication")
        wait_for(lambda: not _receiving(replica, database), timeout=20)
        # (Patroni stops waiting for it within a loop: commits no longer wait for a synchronous standby)
        wait_for(lambda: patroni("product-db-1")[replica]["Role"] != "Sync Standby", timeout=30, interval=1)
        time.sleep(3)  # every process probes its replicas every REPLICA_CHECK_SECONDS (2)
        # then: the shard report says so
        report = admin.client.get("/api/products/admin/shards/", headers=admin.auth).json()
        lags = {server["server"]: server["replica_lag"] for server in report["servers"]}
        assert lags["db1"] == {"db1_replica": "not streaming"} and lags["db0"]["db0_replica"].endswith("s")
        # and: a product made on that server now is found by anyone at once (a read from the stale standby
        # would not find it): its reads go to the primary
        made = []
        while not made or server_of(made[-1]["id"]) != 1:
            body = {"sku": f"STANDBY-{uuid.uuid4().hex[:10]}", "name": "Standby probe", "category": "tools"}
            response = admin.client.post("/api/products/", json=body | {"price": "1.00"}, headers=admin.auth)
            assert response.status_code == 201, response.text
            made.append(response.json())
        anonymous = Client()
        assert anonymous.get(f"/api/products/{made[-1]['id']}/").status_code == 200
        assert psql(replica, database, f"SELECT count(*) FROM products_product WHERE id = {made[-1]['id']}") == [["0"]]
    finally:
        psql(leader, database, "ALTER ROLE replicator LOGIN")
        wait_for(lambda: _receiving(replica, database), timeout=30)


def _product_on_server(admin, server: int) -> dict:
    while True:
        body = {"sku": f"NOLEAD-{uuid.uuid4().hex[:10]}", "name": "Leaderless probe", "category": "tools"}
        response = admin.client.post("/api/products/", json=body | {"price": "4.00"}, headers=admin.auth)
        assert response.status_code == 201, response.text
        if server_of(response.json()["id"]) == server:
            return response.json()


def test_with_its_leader_killed_a_servers_writes_answer_503_with_retry_after_until_the_standby_leads(admin):
    server = "product-db-0"
    lead_with_first_member(server)
    # given: a product on product-db-0, streamed to its standby
    product = _product_on_server(admin, 0)
    query = f"SELECT price FROM products_product WHERE id = {int(product['id'])}"
    wait_for(lambda: psql(f"{server}-replica", "products", query) == [["4.00"]], timeout=10)
    # when: the leader dies (SIGKILL: it cannot hand its lead over; Patroni promotes the standby once the
    # leader's key expires, up to its ttl of 20 s later)
    killed = compose("ps", "-q", server).strip()
    subprocess.run(["docker", "kill", "-s", "KILL", killed], check=True, capture_output=True)
    try:
        # then: a write to it meanwhile is a JSON 503 that says when to retry, never a 500
        patched = admin.client.patch(f"/api/products/{product['id']}/", json={"price": "9.00"}, headers=admin.auth)
        assert_error(patched, 503, "database_unavailable")
        assert int(patched.headers["Retry-After"]) > 0
        # and: a read that needs that server (a new search, not cached anywhere) is answered by the standby
        found = Client().get(f"/api/products/?search={product['sku']}&page_size=5")
        assert found.status_code == 200, found.text
        assert [row["id"] for row in found.json()["results"]] == [product["id"]]
        # and: nothing of the refused write was kept
        assert psql(f"{server}-replica", "products", query) == [["4.00"]]

        # and: writes work again within 30 s, on the promoted standby
        def patched_again():
            response = admin.client.patch(f"/api/products/{product['id']}/", json={"price": "9.00"}, headers=admin.auth)
            return response.status_code == 200

        wait_for(patched_again, timeout=30, interval=1)
        assert leader_of(server) == f"{server}-replica"
    finally:
        compose("start", server, timeout=120)
    # and: the killed member comes back as the standby by itself, and the lead is handed back
    wait_for(lambda: standby_of(server) == server, timeout=120, interval=2)
    lead_with_first_member(server)
