"""Backups with pgBackRest (deploy/postgres/backup.sh, restore.sh): every shard server archives its WAL
and has had a full backup since its first start, `make backup` takes one where the server leads, and
`make restore SERVER=... TIME=...` restores a server to a point in time into a scratch container:
rows written before the time are there, rows written after are not, and the live server keeps both."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from support import ROOT, compose, leader_of, psql, server_of, wait_for

pytestmark = pytest.mark.topology  # the data tier's backups, the same in both modes: run once

PRIMARIES = [f"{svc}-db-{n}" for svc in ("user", "product", "order") for n in (0, 1)]


def _pgbackrest(container: str, *args: str, timeout: int = 180) -> str:
    return compose("exec", "-T", container, "runuser", "-u", "postgres", "--", "pgbackrest", *args, timeout=timeout)


def _backups(server: str) -> list[dict]:
    """The backups in the server's stanza (none while the stanza is not made yet)."""
    [stanza] = json.loads(_pgbackrest(server, "info", "--output=json"))
    assert stanza["name"] == server, stanza
    return stanza["backup"] if stanza["status"]["code"] == 0 else []


def _make(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["make", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("server", PRIMARIES)
def test_every_shard_server_has_a_full_backup_from_its_first_start_and_archives_its_wal(server):
    # the schedule takes the first one as soon as the server leads (seconds after the stack is up)
    backups = wait_for(lambda: _backups(server), timeout=120, interval=5)
    assert backups[0]["type"] == "full"
    # pgBackRest's own check, where the server leads: a WAL switch, and the segment arrives in the repository
    _pgbackrest(leader_of(server), "check")


def test_make_backup_takes_a_full_backup_where_the_server_leads_and_a_standby_declines():
    before = {backup["label"] for backup in _backups("product-db-1")}
    done = _make("backup", "SERVER=product-db-1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "backup product-db-1: full backup done" in done.stdout
    assert "this member is a standby" in done.stdout  # the other member: its leader takes them
    # the new one is the newest (two full backups are kept: the oldest may have expired with it)
    newest = _backups("product-db-1")[-1]
    assert newest["label"] not in before and newest["type"] == "full"


def test_make_restore_refuses_what_is_not_a_shard_server():
    done = _make("restore", "SERVER=redis-cache")
    assert done.returncode != 0 and "SERVER is a shard server" in done.stderr


def test_a_point_in_time_restore_has_the_orders_written_before_the_time_and_not_those_after(user, products):
    server = f"order-db-{server_of(user.id)}"  # a user's orders live on the user's shard server
    scratch, leader = f"scaling-django-restore-{server}", leader_of(server)

    def place() -> str:
        items = [{"product_id": products[0]["id"], "quantity": 1}]
        response = user.client.post("/api/orders/", json={"items": items}, headers=user.auth)
        assert response.status_code == 202, response.text
        return response.json()["id"]

    def on(container: str, order_id: str) -> bool:
        return bool(psql(container, "orders", f"SELECT 1 FROM orders_order WHERE id = {order_id}"))

    def in_scratch(sql: str) -> list[str]:  # a one-off container: not a compose service to `exec` into
        command = ["docker", "exec", scratch, "psql", "-U", "postgres", "-d", "orders", "-qAt", "-c", sql]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout.split()

    before = place()
    assert on(leader, before)  # committed (the 202 is sent after the commit)
    # the time to restore to, on the server's own clock, after the first order's commit
    [[point]] = psql(leader, "orders", "SELECT now()")
    time.sleep(1)
    after = place()
    assert on(leader, after)
    # the segment holding the second commit is archived (pgBackRest's check switches WAL and waits)
    _pgbackrest(leader, "check")

    done = _make("restore", f"SERVER={server}", f"TIME={point}")
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        assert "restored and promoted" in done.stdout
        assert in_scratch(f"SELECT id FROM orders_order WHERE id IN ({before}, {after})") == [before]
        # its items came back with it: the restore is of the whole database, consistent at that time
        assert in_scratch(f"SELECT count(*) FROM orders_orderitem WHERE order_id = {before}") == ["1"]
    finally:
        subprocess.run(["docker", "rm", "-f", scratch], capture_output=True, timeout=60)
    # the live server was not touched: both orders are there
    assert on(leader, before) and on(leader, after)
