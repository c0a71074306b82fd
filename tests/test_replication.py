"""Every shard server is a real primary with a real streaming hot standby."""

import time
import uuid

import pytest

from support import Client, assert_error, compose, psql, server_of, wait_for

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


def _receiving(replica: str, database: str) -> bool:
    return psql(replica, database, "SELECT count(*) FROM pg_stat_wal_receiver WHERE pid IS NOT NULL") == [["1"]]


def test_a_standby_that_stops_streaming_is_reported_and_serves_no_read(admin):
    """A standby cut off from its primary looks caught up (nothing received, nothing to replay) while it
    falls ever further behind: the services must notice the missing WAL receiver, not trust a zero lag."""
    replica, database = "product-db-1-replica", "products"
    conninfo = psql(replica, database, "SHOW primary_conninfo")[0][0]
    try:
        # given: the standby of product-db-1 stops streaming (no primary to stream from)
        psql(replica, database, "ALTER SYSTEM SET primary_conninfo = ''")
        psql(replica, database, "SELECT pg_reload_conf()")
        wait_for(lambda: not _receiving(replica, database), timeout=20)
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
        quoted = conninfo.replace("'", "''")
        psql(replica, database, f"ALTER SYSTEM SET primary_conninfo = '{quoted}'")
        psql(replica, database, "SELECT pg_reload_conf()")
        wait_for(lambda: _receiving(replica, database), timeout=30)


def _product_on_server(admin, server: int) -> dict:
    while True:
        body = {"sku": f"NOLEAD-{uuid.uuid4().hex[:10]}", "name": "Leaderless probe", "category": "tools"}
        response = admin.client.post("/api/products/", json=body | {"price": "4.00"}, headers=admin.auth)
        assert response.status_code == 201, response.text
        if server_of(response.json()["id"]) == server:
            return response.json()


def test_with_a_primary_down_its_writes_answer_503_with_retry_after_and_its_reads_go_on_from_the_standby(admin):
    # given: a product on product-db-0, streamed to its standby
    product = _product_on_server(admin, 0)
    query = f"SELECT price FROM products_product WHERE id = {int(product['id'])}"
    wait_for(lambda: psql("product-db-0-replica", "products", query) == [["4.00"]], timeout=10)
    # when: the primary stops
    compose("stop", "product-db-0")
    try:
        # then: a write to it is a JSON 503 that says when to retry, never a 500
        patched = admin.client.patch(f"/api/products/{product['id']}/", json={"price": "9.00"}, headers=admin.auth)
        assert_error(patched, 503, "database_unavailable")
        assert int(patched.headers["Retry-After"]) > 0
        # and: a read that needs that server (a new search, not cached anywhere) is answered by the standby
        found = Client().get(f"/api/products/?search={product['sku']}&page_size=5")
        assert found.status_code == 200, found.text
        assert [row["id"] for row in found.json()["results"]] == [product["id"]]
    finally:
        compose("start", "product-db-0")
        compose("up", "-d", "--wait", "product-db-0", "product-pgbouncer", timeout=180)
    # and: nothing of the refused write was kept, and writes work again once the primary is back
    assert psql("product-db-0", "products", query) == [["4.00"]]

    def patched_again():
        response = admin.client.patch(f"/api/products/{product['id']}/", json={"price": "9.00"}, headers=admin.auth)
        return response.status_code == 200

    wait_for(patched_again, timeout=30, interval=1)
