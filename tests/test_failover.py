"""Failover of a shard server under Patroni (issue 13), through the edge as a user sees it, checked where it
happens: Patroni's view of who leads, and `pg_is_in_recovery()` asked of both members throughout.

1. The leader of order-db-0 (synchronous mode) is SIGKILLed while six clients place orders on users whose
   orders live there: writes resume within 30 s, every order answered 202 is on the new leader, nothing
   but 202 or a JSON 503 with Retry-After is answered meanwhile, the two members never both accept
   writes, and the killed member rejoins as a standby by itself once started.
2. The same with the leader cut off from the network: it stops accepting writes within Patroni's ttl
   (20 s), the standby takes over, and once reconnected the old leader rejoins as a standby by itself.
3. The standby of order-db-0 is SIGKILLed under read load: no read fails, and once started it streams
   again and serves reads.

Each test hands the lead back to the first member afterwards (a Patroni switchover), so the other tests
find the stack as `make up` left it. About 3-4 minutes in all."""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass, field

import pytest

from support import (
    Client,
    compose,
    lead_with_first_member,
    leader_of,
    login,
    patroni,
    psql,
    register,
    server_of,
    standby_of,
    wait_for,
)

SERVER, NETWORK = "order-db-0", "scaling-django_data"
RESUME_WITHIN = 30  # seconds from losing the leader to the first acknowledged write
TTL = 20  # Patroni's ttl (deploy/postgres/patroni.sh)


@pytest.fixture
def leaders_put_back():
    """SERVER led by its first member before and after the test (started again if the test left it stopped)."""
    lead_with_first_member(SERVER)
    yield
    compose("start", SERVER, f"{SERVER}-replica", timeout=180)
    lead_with_first_member(SERVER)


def _container(member: str) -> str:
    return compose("ps", "-a", "-q", member).strip()


def _users_on(server: int, count: int) -> list:
    users = []
    while len(users) < count:
        user = register()
        if server_of(user.id) == server:
            users.append(login(user))
    return users


class Loops:
    """`self._loop(item)` in a thread per item of `self.items()` while the `with` block runs."""

    def __enter__(self):
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._loop, args=(i,), daemon=True) for i in self.items()]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(30)


@dataclass
class Roles(Loops):
    """`pg_is_in_recovery()` of each member, asked every 0.3 s on its own socket: (time, 'f'/'t'/None)."""

    members: tuple[str, ...]
    seen: dict[str, list] = field(default_factory=dict)

    def items(self):
        return self.members

    def _loop(self, member: str) -> None:
        container = _container(member)
        self.seen[member] = []
        while not self.stop.is_set():
            asked = time.monotonic()
            result = subprocess.run(
                ["docker", "exec", container, "psql", "-XAtq", "-h", "/run/postgresql", "-U", "postgres", "-c",
                 "SELECT pg_is_in_recovery()"],
                capture_output=True, text=True, timeout=10,
            )  # fmt: skip
            answer = result.stdout.strip() if result.returncode == 0 else None
            self.seen[member].append((asked, answer))
            time.sleep(0.3)

    def writable(self, member: str) -> list[float]:
        return [at for at, answer in self.seen[member] if answer == "f"]

    def assert_never_two_leaders(self, old: str, new: str, since: float) -> tuple[float, float]:
        """The old leader's last 'f' came before the new one's first: (old's last, new's first), from `since`."""
        old_last = max(self.writable(old))
        new_first = min(at for at in self.writable(new) if at > since)
        assert old_last < new_first, (
            f"both accepted writes: {old} until {old_last - since:.1f}s, {new} from {new_first - since:.1f}s"
        )
        return old_last - since, new_first - since


@dataclass
class Orders(Loops):
    """Six clients placing orders (one item) in a loop, each on its own user: every answer kept."""

    users: list
    product: dict
    answers: list = field(default_factory=list)  # (time, status, order id or None, Retry-After)

    def items(self):
        return self.users

    def _loop(self, user) -> None:
        body = {"items": [{"product_id": self.product["id"], "quantity": 1}]}
        while not self.stop.is_set():
            sent = time.monotonic()
            try:
                response = user.client.post("/api/orders/", json=body, headers=user.auth, timeout=15)
            except Exception as error:  # noqa: BLE001 - a broken connection is an answer the test reports
                self.answers.append((sent, repr(error), None, None))
                continue
            placed = response.json().get("id") if response.status_code == 202 else None
            error = response.json().get("error", {}).get("code") if response.status_code != 202 else None
            self.answers.append((sent, (response.status_code, error), placed, response.headers.get("Retry-After")))
            time.sleep(0.2)

    def acknowledged(self) -> list[str]:
        return [placed for _, _, placed, _ in self.answers if placed]

    def resumed_after(self, moment: float) -> float:
        """Seconds from `moment` to the first acknowledged order sent after the first refused one (an order
        sent just after the fault may still have been acknowledged by the old leader)."""
        refused = min(at for at, status, _, _ in self.answers if at > moment and status != (202, None))
        return min(at for at, _, placed, _ in self.answers if placed and at > refused) - moment

    def assert_only_202_or_503_with_retry_after(self, since: float, in_flight: tuple = ()) -> int:
        """Every answer is a 202 or a JSON 503 with Retry-After, except one of `in_flight` per client for an
        order sent within 2 s of the fault (it was waiting on the old leader when the fault came). Returns
        how many of those there were."""
        answers = [(round(at - since, 1), status, retry) for at, status, _, retry in self.answers]
        wrong = [(at, status, retry) for at, status, retry in answers if status != (202, None)]
        excused = [(at, s, r) for at, s, r in wrong if s in in_flight and 0 <= at < 2]
        bad = [w for w in wrong if w not in excused and not (w[1] == (503, "database_unavailable") and w[2])]
        assert not bad and len(excused) <= len(self.users), f"sent at (s after the fault), answer: {bad or excused}"
        return len(excused)


def _present(order_ids: list[str]) -> set[str]:
    ids = ",".join(str(int(order_id)) for order_id in order_ids)
    return {row[0] for row in psql(leader_of(SERVER), "orders", f"SELECT id FROM orders_order WHERE id IN ({ids})")}


def _lose_the_leader(products, fault, undo, in_flight: tuple = ()) -> dict:
    """Orders on SERVER under load while `fault(leader)` happens; `undo(leader)` afterwards. Returns figures."""
    old = leader_of(SERVER)
    assert old == SERVER and standby_of(SERVER) == f"{SERVER}-replica", "the stack does not start as make up leaves it"
    users = _users_on(0, 6)
    with Roles((SERVER, f"{SERVER}-replica")) as roles, Orders(users, products[0]) as orders:
        time.sleep(5)
        lost_at = time.monotonic()
        fault(old)
        try:
            wait_for(lambda: orders.acknowledged() and max(a for a, _, p, _ in orders.answers if p) > lost_at + 5,
                     timeout=RESUME_WITHIN + 30, interval=1)  # fmt: skip
            new = leader_of(SERVER)
        finally:
            undo(old)
    resumed = orders.resumed_after(lost_at)
    assert new and new != old, f"no new leader: {new}"
    assert resumed <= RESUME_WITHIN, f"writes resumed {resumed:.1f}s after losing the leader"
    timed_out = orders.assert_only_202_or_503_with_retry_after(lost_at, in_flight)
    acknowledged = orders.acknowledged()
    lost = set(acknowledged) - _present(acknowledged)
    assert not lost, f"{len(lost)} acknowledged orders lost of {len(acknowledged)}"
    old_last, new_first = roles.assert_never_two_leaders(old, new, lost_at)
    # the old leader comes back as a standby by itself (pg_rewind where it had diverged)
    wait_for(lambda: standby_of(SERVER) == old, timeout=120, interval=2)
    figures = {"resumed_s": round(resumed, 1), "acknowledged": len(acknowledged), "lost": len(lost)}
    figures |= {"in_flight_timed_out": timed_out}
    figures |= {"old_last_writable_s": round(old_last, 1), "new_first_writable_s": round(new_first, 1)}
    print(f"\n{SERVER} failover: {figures}, 503s: {sum(1 for a in orders.answers if a[1] != (202, None))}")
    return figures


def test_the_leader_killed_under_orders_loses_no_acknowledged_order(products, leaders_put_back):
    def kill(member):
        subprocess.run(["docker", "kill", "-s", "KILL", _container(member)], check=True, capture_output=True)

    def start(member):
        compose("start", member, timeout=120)

    _lose_the_leader(products, kill, start)


def test_the_leader_cut_off_from_the_network_demotes_itself_and_rejoins(products, leaders_put_back):
    cut_at = []

    def disconnect(member):
        cut_at.append(time.monotonic())
        subprocess.run(
            ["docker", "network", "disconnect", NETWORK, _container(member)], check=True, capture_output=True
        )

    def reconnect(member):
        # the service name is the member's address on the network: reconnected with it as alias
        subprocess.run(
            ["docker", "network", "connect", "--alias", member, NETWORK, _container(member)],
            check=True,
            capture_output=True,
        )

    # An order waiting on the leader at the moment it is cut off may answer 504 (the gateway's 12 s
    # budget) instead of 503: known, see the README's known limits; it is never acknowledged.
    figures = _lose_the_leader(products, disconnect, reconnect, in_flight=((504, "upstream_timeout"),))
    # it stopped accepting writes within the ttl of its leader key (it demoted itself: etcd unreachable)
    assert figures["old_last_writable_s"] < TTL, figures


def test_a_standby_killed_under_read_load_fails_no_read_and_streams_again(leaders_put_back):
    standby = standby_of(SERVER)
    assert standby == f"{SERVER}-replica"
    readers = _users_on(0, 3)
    failures, reads, stop = [], [0], threading.Event()

    def read(user):
        client = Client()  # no read-your-writes pin: its reads go to the standby while one streams
        while not stop.is_set():
            response = client.get("/api/orders/", headers=user.auth, timeout=15)
            reads[0] += 1
            if response.status_code != 200:
                failures.append((response.status_code, response.text[:200]))
            time.sleep(0.1)

    threads = [threading.Thread(target=read, args=(u,), daemon=True) for u in readers]
    for thread in threads:
        thread.start()
    try:
        time.sleep(3)
        subprocess.run(["docker", "kill", "-s", "KILL", _container(standby)], check=True, capture_output=True)
        time.sleep(10)
        compose("start", standby, timeout=120)
        # it catches up and streams again: Patroni sees it running with no lag
        wait_for(lambda: standby_of(SERVER) == standby, timeout=120, interval=2)
        wait_for(lambda: patroni_lag(standby) == 0, timeout=60, interval=2)
        time.sleep(3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert reads[0] > 50 and not failures, (reads[0], failures[:5])


def patroni_lag(member: str) -> float | None:
    lag = patroni(SERVER)[member].get("Lag in MB")
    return None if lag in (None, "", "unknown") else float(lag)
