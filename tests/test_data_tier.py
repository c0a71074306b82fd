"""Shards and replicas, checked where the data really is: psql in the shard containers."""

import hashlib
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from support import ROOT, Client, compose, login, process_of, psql, register, server_of, standby_of, wait_for

USERS_ON = "SELECT count(*) FROM users_user WHERE id = ANY('{%s}'::bigint[])"


def _in_list(ids) -> str:
    return ",".join(str(i) for i in ids)


def test_two_hundred_users_spread_over_both_servers_each_row_once():
    with ThreadPoolExecutor(max_workers=8) as pool:
        users = list(pool.map(lambda _: register(), range(200)))
    ids = [u.id for u in users]
    on = [int(psql(f"user-db-{n}", "users", USERS_ON % _in_list(ids))[0][0]) for n in (0, 1)]
    assert sum(on) == 200  # each row exactly once
    assert min(on) >= 50, on  # each server holds at least 25%
    # and each is where its ID says
    for user in users[:20]:
        assert psql(f"user-db-{server_of(user.id)}", "users", USERS_ON % user.id) == [["1"]]


def test_a_users_orders_sit_on_that_users_shard_server(products):
    for _ in range(4):
        user = login(register())
        order = user.client.post(
            "/api/orders/", json={"items": [{"product_id": products[0]["id"], "quantity": 1}]}, headers=user.auth
        ).json()
        home = server_of(user.id)
        assert psql(f"order-db-{home}", "orders", f"SELECT user_id FROM orders_order WHERE id = {order['id']}") == [
            [user.id]
        ]
        assert psql(f"order-db-{1 - home}", "orders", f"SELECT 1 FROM orders_order WHERE id = {order['id']}") == []


def _listening(pgbouncer: str) -> bool:
    probe = "exec 3<>/dev/tcp/127.0.0.1/6432"
    command = ["docker", "compose", "exec", "-T", pgbouncer, "bash", "-c", probe]
    return subprocess.run(command, cwd=ROOT, capture_output=True, timeout=30).returncode == 0


def test_a_restarted_pgbouncer_fails_no_request_of_the_processes_that_held_connections_to_it(products):
    """Every gunicorn worker keeps its connection to PgBouncer between requests, and checks it before
    the first query of a request without a statement (shared/db/backend/liveness.py): a connection
    that PgBouncer's restart closed is seen and replaced, and no request fails on it (the order service
    writes through order-pgbouncer, and prices each order through product's)."""
    user = login(register())
    body = {"items": [{"product_id": products[0]["id"], "quantity": 1}]}
    for _ in range(8):  # connections held by several workers of both services
        assert user.client.post("/api/orders/", json=body, headers=user.auth).status_code == 202
    compose("restart", "order-pgbouncer", "product-pgbouncer")
    # as soon as both listen again, before a health check (/health/, every 15 s) has met a closed connection
    wait_for(lambda: all(_listening(pgbouncer) for pgbouncer in ("order-pgbouncer", "product-pgbouncer")), timeout=30)
    placed = []
    for _ in range(16):
        response = user.client.post("/api/orders/", json=body, headers=user.auth)
        assert response.status_code == 202, response.text
        placed.append(response.json()["id"])
    # stored, and confirmed by the saga (the workers' tasks that met a closed connection were retried)
    ids = ",".join(str(order_id) for order_id in placed)
    sql = f"SELECT status, count(*) FROM orders_order WHERE id IN ({ids}) GROUP BY status"
    wait_for(lambda: psql(f"order-db-{server_of(user.id)}", "orders", sql) == [["confirmed", "16"]], timeout=60)


def _scans(container: str) -> int:
    rows = psql(
        container,
        "users",
        "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'users_user'",
    )
    return int(rows[0][0])


def _all_scans() -> dict[str, int]:
    return {c: _scans(c) for c in ("user-db-0", "user-db-0-replica", "user-db-1", "user-db-1-replica")}


def _standbys() -> list[str]:
    """The members of the user service's servers that run as standbys now (Patroni's view)."""
    return [standby_of("user-db-0"), standby_of("user-db-1")]


def _primaries_quiet() -> None:
    """Waits until nothing else touches users_user on the primaries: the scan counters of both stay
    the same over more than a statistics flush (a backend flushes at most every 1 s, an idle one
    within 10 s). Earlier tests' order sagas end with the user domain recording each confirmed order
    on the primary; counted during the reads below, they would be taken for reads that missed the
    replicas (seen once against the monolith, whose one worker drains such a backlog more slowly)."""
    primaries = [member for member in _all_scans() if member not in _standbys()]

    def unchanged():
        first = {member: _scans(member) for member in primaries}
        time.sleep(11)
        return first == {member: _scans(member) for member in primaries}

    wait_for(unchanged, timeout=120, interval=0)


def test_read_heavy_traffic_is_served_by_the_replicas_according_to_the_databases():
    # given: signed-in users, reading with their token only (no read-your-writes pin from the login)
    readers = [login(register()) for _ in range(6)]
    tokens = [u.auth for u in readers]
    standbys = _standbys()
    _primaries_quiet()
    before = _all_scans()
    client = None
    # when: 300 profile reads through the gateway
    for n in range(300):
        # a new client address every 100 reads keeps clear of the per-address rate limit
        client = client if n % 100 else Client()
        assert client.get("/api/users/me/", headers=tokens[n % len(tokens)]).status_code == 200

    # then: the databases' own statistics (flushed within ~10 s) say who ran the queries
    def deltas():
        after = _all_scans()
        d = {c: after[c] - before[c] for c in after}
        return d if sum(d.values()) >= 300 else None

    delta = wait_for(deltas, timeout=30, interval=1)
    on_replicas = sum(delta[standby] for standby in standbys)
    assert on_replicas / sum(delta.values()) >= 0.9, delta


def test_reads_survive_a_stopped_replica_and_it_serves_again_after_restart():
    user = login(register())
    while server_of(user.id) != 0:
        user = login(register())
    client, standby = Client(), standby_of("user-db-0")
    compose("stop", standby)
    try:
        statuses = [client.get("/api/users/me/", headers=user.auth).status_code for _ in range(200)]
    finally:
        compose("start", standby)
    assert statuses == [200] * 200
    compose("up", "-d", "--wait", standby, timeout=180)
    wait_for(lambda: standby_of("user-db-0") == standby, timeout=60, interval=2)
    before = _scans(standby)

    def replica_used_again():
        for _ in range(20):
            client.get("/api/users/me/", headers=user.auth)
        return _scans(standby) > before

    wait_for(replica_used_again, timeout=60, interval=1)


def test_register_then_read_at_once_is_never_stale():
    def once(_):
        user = register()  # the client keeps the pin cookie set by this write
        login(user)
        me = user.client.get("/api/users/me/", headers=user.auth)
        return me.status_code == 200 and me.json()["id"] == user.id

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(once, range(100)))
    assert results.count(True) == 100


def _shard_for_email(email: str, logical_shards: int = 16) -> int:
    # the same hash as shared.db.shards.shard_for_natural_key, to make users on a chosen shard
    digest = hashlib.blake2b(email.strip().lower().encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % logical_shards


def _shard_rows(container: str, shard: int) -> int:
    sql = f"SELECT count(*) FROM users_user WHERE ((id >> 12) & 1023) = {shard}"
    return int(psql(container, "users", sql)[0][0])


def test_moving_a_logical_shard_under_read_traffic_loses_no_row_and_fails_no_read():
    shard = 7  # on user-db-0 in the default map
    users = []
    while len(users) < 5:
        email = f"mover-{uuid.uuid4().hex[:10]}@example.com"
        if _shard_for_email(email) == shard:
            users.append(login(register(email=email)))
    before = (_shard_rows("user-db-0", shard), _shard_rows("user-db-1", shard))
    assert before[0] >= 5 and before[1] == 0
    failures, reads, stop = [], [0], threading.Event()

    def read_constantly():
        client = Client()
        while not stop.is_set():
            for user in users:
                response = client.get("/api/users/me/", headers=user.auth)
                reads[0] += 1
                if response.status_code != 200 or response.json()["id"] != user.id:
                    failures.append(response.status_code)
                time.sleep(0.03)  # about 30 reads/s: a steady load well inside the per-address rate limit

    reader = threading.Thread(target=read_constantly)
    reader.start()
    try:
        out = compose(
            "exec", "-T", *process_of("user"), "python", "manage.py", "move_shard", "--shard", str(shard), "--to", "db1"
        )
        time.sleep(1)
    finally:
        stop.set()
        reader.join()
    try:
        assert "moved shard 7 to db1" in out
        assert failures == [] and reads[0] > 50
        assert (_shard_rows("user-db-0", shard), _shard_rows("user-db-1", shard)) == (0, before[0])
        # served from the new server: logins find the moved users there
        assert login(users[0]).access
    finally:
        compose(
            "exec", "-T", *process_of("user"), "python", "manage.py", "move_shard", "--shard", str(shard), "--to", "db0"
        )
    assert _shard_rows("user-db-0", shard) == before[0]


def test_admins_see_the_shard_report_of_every_service(admin, user):
    for prefix in ("users", "products", "orders"):
        report = admin.client.get(f"/api/{prefix}/admin/shards/", headers=admin.auth)
        assert report.status_code == 200, report.text
        servers = {s["server"]: s for s in report.json()["servers"]}
        assert set(servers) == {"db0", "db1"}
        assert sorted(servers["db0"]["logical_shards"] + servers["db1"]["logical_shards"]) == list(range(16))
        assert all(lag.endswith("s") for s in servers.values() for lag in s["replica_lag"].values())
        assert user.client.get(f"/api/{prefix}/admin/shards/", headers=user.auth).status_code == 403
