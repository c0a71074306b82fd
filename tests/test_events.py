"""The order saga and the event guarantees, on the real stack (Celery over redis-broker)."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from support import (
    compose,
    event_envelope,
    leader_of,
    login,
    process_of,
    psql,
    register,
    send_event,
    server_of,
    wait_for,
    worker_of,
)

TERMINAL = {"confirmed", "rejected", "cancelled"}


def _new_product(admin, stock: int, price: str = "10.00") -> dict:
    body = {
        "sku": f"EV-{uuid.uuid4().hex[:10]}",
        "name": "Event test",
        "category": "tools",
        "price": price,
        "stock": stock,
    }
    response = admin.client.post("/api/products/", json=body, headers=admin.auth)
    assert response.status_code == 201, response.text
    return response.json()


def _stock(product: dict) -> int:
    rows = psql(
        f"product-db-{server_of(product['id'])}",
        "products",
        f"SELECT stock FROM products_product WHERE id = {product['id']}",
    )
    return int(rows[0][0])


def _place(user, product, quantity=1):
    response = user.client.post(
        "/api/orders/", json={"items": [{"product_id": product["id"], "quantity": quantity}]}, headers=user.auth
    )
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _status(user, order_id) -> str:
    return user.client.get(f"/api/orders/{order_id}/", headers=user.auth).json()["status"]


def _wait_terminal(user, order_ids, timeout=60.0) -> dict:
    statuses = {}

    def done():
        for order_id in order_ids:
            if statuses.get(order_id) not in TERMINAL:
                statuses[order_id] = _status(user, order_id)
        return all(s in TERMINAL for s in statuses.values())

    wait_for(done, timeout=timeout, interval=0.5)
    return statuses


def test_placed_order_is_confirmed_stock_taken_and_user_statistics_updated(user, admin):
    product = _new_product(admin, stock=10, price="7.50")
    order_id = _place(user, product, quantity=3)
    assert _wait_terminal(user, [order_id], timeout=30)[order_id] == "confirmed"
    assert _stock(product) == 7
    detail = user.client.get(f"/api/orders/{order_id}/", headers=user.auth).json()
    assert [h["status"] for h in detail["history"]] == ["pending", "confirmed"]
    me = wait_for(lambda: (m := user.client.get("/api/users/me/", headers=user.auth).json())["orders_count"] == 1 and m)
    assert me["orders_total"] == "22.50"


def test_order_for_more_than_the_stock_is_rejected_and_stock_unchanged(user, admin):
    product = _new_product(admin, stock=2)
    order_id = _place(user, product, quantity=3)
    assert _wait_terminal(user, [order_id], timeout=30)[order_id] == "rejected"
    assert _stock(product) == 2


def test_cancelling_a_confirmed_order_gives_the_stock_back(user, admin):
    product = _new_product(admin, stock=5)
    order_id = _place(user, product, quantity=4)
    assert _wait_terminal(user, [order_id], timeout=30)[order_id] == "confirmed"
    assert user.client.post(f"/api/orders/{order_id}/cancel/", headers=user.auth).json()["status"] == "cancelled"
    wait_for(lambda: _stock(product) == 5, timeout=30)


def test_twenty_concurrent_orders_for_five_units_confirm_exactly_five(admin):
    product = _new_product(admin, stock=5)
    buyers = [login(register()) for _ in range(20)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        order_ids = list(pool.map(lambda u: _place(u, product), buyers))
    statuses = [_wait_terminal(u, [o], timeout=60)[o] for u, o in zip(buyers, order_ids, strict=True)]
    assert statuses.count("confirmed") == 5
    assert statuses.count("rejected") == 15
    assert _stock(product) == 0


def test_orders_placed_while_the_broker_is_down_are_not_lost(user, admin):
    product = _new_product(admin, stock=100)
    compose("stop", "redis-broker")
    try:
        order_ids = [_place(user, product) for _ in range(20)]  # each answered 202
    finally:
        compose("start", "redis-broker")
    statuses = _wait_terminal(user, order_ids, timeout=120)
    assert set(statuses.values()) == {"confirmed"}
    assert _stock(product) == 80


def test_killing_the_product_worker_mid_burst_loses_nothing_and_applies_nothing_twice(admin):
    products = [_new_product(admin, stock=30) for _ in range(2)]
    buyers = [login(register()) for _ in range(5)]
    placed = []
    for n in range(50):
        if n == 10:
            compose("kill", "-s", "SIGKILL", worker_of("product"))
        buyer = buyers[n % 5]
        product = products[n % 2]
        placed.append((buyer, product, _place(buyer, product, quantity=1 + n % 2)))
    compose("start", worker_of("product"))
    confirmed = {p["id"]: 0 for p in products}
    for buyer, product, order_id in placed:
        status = _wait_terminal(buyer, [order_id], timeout=180)[order_id]
        if status == "confirmed":
            quantity = buyer.client.get(f"/api/orders/{order_id}/", headers=buyer.auth).json()["items"][0]["quantity"]
            confirmed[product["id"]] += quantity
    for product in products:
        assert _stock(product) == 30 - confirmed[product["id"]]
        assert _stock(product) >= 0


def test_the_same_event_delivered_twice_has_one_effect(user):
    envelope = event_envelope("order.confirmed", {"order_id": "1", "user_id": user.id, "total": "5.00"})
    send_event("user", envelope, times=2)
    wait_for(lambda: user.client.get("/api/users/me/", headers=user.auth).json()["orders_count"] >= 1, timeout=20)
    time.sleep(2)
    me = user.client.get("/api/users/me/", headers=user.auth).json()
    assert (me["orders_count"], me["orders_total"]) == (1, "5.00")


def _dead_letters(service: str) -> list[list[str]]:
    out = compose("exec", "-T", *process_of(service), "python", "manage.py", "dead_letters")
    return [line.split("\t") for line in out.splitlines() if line]


def test_malformed_event_is_dead_lettered_without_crashing_the_worker(user):
    bad = event_envelope("order.confirmed", {"user_id": user.id})
    bad["version"] = 99
    send_event("user", bad, times=1)
    wait_for(lambda: any(row[2] == bad["id"] for row in _dead_letters("user")), timeout=20)
    # the worker still works
    good = event_envelope("order.confirmed", {"order_id": "1", "user_id": user.id, "total": "1.00"})
    send_event("user", good, times=1)
    wait_for(lambda: user.client.get("/api/users/me/", headers=user.auth).json()["orders_count"] == 1, timeout=20)


def test_poison_event_goes_to_dead_letters_and_replay_applies_it_once():
    # given: a user on shard server 1, which has no member up (no leader to fail over to) while its event
    # arrives
    user = login(register())
    while server_of(user.id) != 1:
        user = login(register())
    envelope = event_envelope("order.confirmed", {"order_id": "1", "user_id": user.id, "total": "3.00"})
    compose("stop", "user-db-1", "user-db-1-replica")
    try:
        send_event("user", envelope, times=1)
        # when: every retry fails
        wait_for(lambda: any(row[2] == envelope["id"] for row in _dead_letters("user")), timeout=90, interval=1)
    finally:
        compose("start", "user-db-1", "user-db-1-replica")
    compose("up", "-d", "--wait", "user-db-1", "user-db-1-replica", "user-pgbouncer", timeout=180)
    wait_for(lambda: leader_of("user-db-1"), timeout=60, interval=2)
    # then: after the cause is fixed, a replay applies it, and a second replay changes nothing
    letter = next(row for row in _dead_letters("user") if row[2] == envelope["id"])
    compose("exec", "-T", *process_of("user"), "python", "manage.py", "dead_letters", "--replay", letter[0])
    # the replay is a new delivery with the whole retry budget (up to 1+2+4+8+16 s of backoff while the
    # restarted server's pools refill); on failure, say where it stands: the row itself and the letters
    try:
        wait_for(lambda: _user_stats(user.id) == [["1", "3.00"]], timeout=90, interval=1)
    except AssertionError:
        raise AssertionError(
            f"replay not applied: row on user-db-1 {_user_stats(user.id)}, dead letters {_dead_letters('user')}"
        ) from None
    wait_for(lambda: user.client.get("/api/users/me/", headers=user.auth).json()["orders_count"] == 1, timeout=30)
    compose("exec", "-T", *process_of("user"), "python", "manage.py", "dead_letters", "--replay", letter[0])
    time.sleep(3)
    me = user.client.get("/api/users/me/", headers=user.auth).json()
    assert (me["orders_count"], me["orders_total"]) == (1, "3.00")
    assert _user_stats(user.id) == [["1", "3.00"]]


def _user_stats(user_id) -> list[list[str]]:
    """The user's order statistics where they are stored: on the leader of its shard server 1."""
    sql = f"SELECT orders_count, orders_total FROM users_user WHERE id = {int(user_id)}"
    return psql(leader_of("user-db-1"), "users", sql)


def test_deleting_a_user_archives_their_orders(admin):
    user = login(register())
    product = _new_product(admin, stock=5)
    order_id = _place(user, product)
    _wait_terminal(user, [order_id], timeout=30)
    assert user.client.delete("/api/users/me/", headers=user.auth).status_code == 204
    home = server_of(user.id)
    wait_for(
        lambda: (
            psql(
                f"order-db-{home}", "orders", f"SELECT archived_at IS NOT NULL FROM orders_order WHERE id = {order_id}"
            )
            == [["t"]]
        ),
        timeout=30,
    )
