"""Secrets, the private key, time limits, the pending-order timeout, pruning and the cache's format, on the
real stack (and `make env` on its own, in a temporary directory)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import uuid

import pytest

from support import ROOT, Client, compose, login, psql, register, server_of, setting, wait_for

WELL_KNOWN = {
    "DJANGO_SECRET_KEY": "dev-only-not-secret-change-me",
    "DB_PASSWORD": "app",
    "ADMIN_PASSWORD": "admin-Passw0rd!",
    "POSTGRES_PASSWORD": "postgres",
    "REPLICATION_PASSWORD": "replicator",
}


def _make_env():
    spec = importlib.util.spec_from_file_location("make_env", ROOT / "deploy" / "scripts" / "make_env.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)


# --- make env -----------------------------------------------------------------------------------------
def test_make_env_fills_every_missing_secret_and_keeps_the_ones_set(tmp_path, monkeypatch):
    # given: no .env, an example with empty secrets; then one secret set by hand
    monkeypatch.delenv("ALLOW_INSECURE_DEFAULTS", raising=False)
    make_env = _make_env()
    env_file = tmp_path / ".env"
    make_env.main(["--env-file", str(env_file), "--example", str(ROOT / ".env.example")])
    first = make_env.read_values(env_file.read_text().splitlines())
    assert env_file.stat().st_mode & 0o777 == 0o600
    for name in WELL_KNOWN:
        assert len(first[name]) >= 20 and first[name] != WELL_KNOWN[name], name
    assert len(set(first[name] for name in WELL_KNOWN)) == len(WELL_KNOWN)
    env_file.write_text(env_file.read_text().replace(f"DB_PASSWORD={first['DB_PASSWORD']}", "DB_PASSWORD=mine"))
    # when: it runs again
    make_env.main(["--env-file", str(env_file), "--example", str(ROOT / ".env.example")])
    # then: nothing set is overwritten
    second = make_env.read_values(env_file.read_text().splitlines())
    assert second == {**first, "DB_PASSWORD": "mine"}


def test_make_env_replaces_a_well_known_default_unless_the_dev_flag_keeps_it(monkeypatch):
    monkeypatch.delenv("ALLOW_INSECURE_DEFAULTS", raising=False)
    make_env = _make_env()
    lines = ["# old .env", "DB_PASSWORD=app", "ADMIN_PASSWORD=my-own-9"]
    filled, made = make_env.fill(lines, allow_insecure=False)
    assert "DB_PASSWORD" in made and "ADMIN_PASSWORD" not in made
    assert filled[0] == "# old .env" and filled[2] == "ADMIN_PASSWORD=my-own-9"
    assert make_env.read_values(filled)["DB_PASSWORD"] not in ("", "app")
    _, made = make_env.fill(lines, allow_insecure=True)
    assert "DB_PASSWORD" not in made


# --- the running stack ----------------------------------------------------------------------------------
def test_the_stack_runs_with_no_well_known_secret():
    for name, default in WELL_KNOWN.items():
        assert setting(name, default) != default, f"{name} is the well-known default: run `make env`"
    env = dict(line.split("=", 1) for line in compose("exec", "-T", "user", "env").splitlines() if "=" in line)
    assert env["ALLOW_INSECURE_DEFAULTS"] == "0"
    assert env["DJANGO_SECRET_KEY"] != WELL_KNOWN["DJANGO_SECRET_KEY"] and env["DB_PASSWORD"] != "app"


def test_a_django_process_refuses_a_well_known_secret():
    run = ["docker", "compose", "run", "--rm", "--no-deps", "-T", "-e", "DB_PASSWORD=app"]
    result = _run(*run, "-e", "ALLOW_INSECURE_DEFAULTS=0", "order", "python", "manage.py", "check")
    assert result.returncode != 0
    assert "Refusing to start with well-known secrets: DB_PASSWORD" in result.stderr


def test_a_shard_server_refuses_a_well_known_password():
    # a container of its own (no data volume): it must stop before initialising anything
    image = json.loads(compose("config", "--format", "json"))["services"]["order-db-0"]["image"]
    name = f"refuse-{uuid.uuid4().hex[:8]}"
    try:
        result = _run(
            "docker", "run", "--rm", "--name", name, "-e", "POSTGRES_DB=x", "-e", "POSTGRES_PASSWORD=postgres",
            "-e", "APP_PASSWORD=a-real-one-1", "-e", "REPLICATION_PASSWORD=a-real-one-2", image, timeout=60,
        )  # fmt: skip
    finally:
        _run("docker", "rm", "-f", name)
    assert result.returncode == 1
    assert "refusing to start with well-known passwords: POSTGRES_PASSWORD" in result.stderr


def test_only_the_user_web_service_holds_the_jwt_private_key():
    holders = {
        service
        for service in ("user", "user-worker", "gateway", "product", "product-worker", "order", "order-worker")
        if _run("docker", "compose", "exec", "-T", service, "test", "-e", "/keys/private/jwt_private.pem").returncode
        == 0
    }
    assert holders == {"user"}


def _through_pgbouncer(pool: str, sql: str) -> subprocess.CompletedProcess:
    command = f'PGPASSWORD="$APP_PASSWORD" psql -h 127.0.0.1 -p 6432 -U app -d {pool} -tAc "{sql}"'
    return _run("docker", "compose", "exec", "-T", "order-pgbouncer", "sh", "-c", command, timeout=60)


def test_the_application_role_has_a_statement_timeout_and_maintenance_pools_have_none():
    roles = "SELECT array_to_string(rolconfig, ',') FROM pg_roles WHERE rolname = 'app'"
    assert "statement_timeout=5s" in psql("order-db-0", "orders", roles)[0][0]
    assert _through_pgbouncer("db0", "SHOW statement_timeout").stdout.strip() == "5s"
    assert _through_pgbouncer("db0_replica", "SHOW statement_timeout").stdout.strip() == "5s"  # replicated
    assert _through_pgbouncer("db0_maint", "SHOW statement_timeout").stdout.strip() == "0"
    slow = _through_pgbouncer("db1", "SELECT pg_sleep(6)")
    assert slow.returncode != 0 and "statement timeout" in slow.stderr


def test_pgbouncer_cuts_off_any_query_a_little_after_the_statement_timeout():
    ini = compose("exec", "-T", "order-pgbouncer", "cat", "/etc/pgbouncer/pgbouncer.ini")
    assert "query_timeout = 10" in ini.splitlines()
    assert "connect_query='SET statement_timeout = 0'" in ini


def test_celery_tasks_have_time_limits_and_the_beat_expires_and_prunes():
    code = (
        "from config.celery import app; c = app.conf; "
        "print(c.task_soft_time_limit, c.task_time_limit, sorted(e['task'] for e in c.beat_schedule.values()))"
    )
    out = compose("exec", "-T", "order-worker", "python", "manage.py", "shell", "-c", code)
    soft, hard, tasks = out.strip().splitlines()[-1].split(" ", 2)  # after the shell's own greeting
    assert 0 < int(soft) < int(hard) <= 60  # under the broker's visibility timeout
    assert {"orders.expire_pending", "events.prune", "events.sweep_outbox"} <= set(json.loads(tasks.replace("'", '"')))


# --- the pending-order timeout ---------------------------------------------------------------------------
def _new_product(admin, stock: int) -> dict:
    body = {"sku": f"TO-{uuid.uuid4().hex[:10]}", "name": "Timeout test", "category": "tools", "price": "3.00"}
    response = admin.client.post("/api/products/", json={**body, "stock": stock}, headers=admin.auth)
    assert response.status_code == 201, response.text
    return response.json()


def _stock(product: dict) -> int:
    sql = f"SELECT stock FROM products_product WHERE id = {product['id']}"
    return int(psql(f"product-db-{server_of(product['id'])}", "products", sql)[0][0])


def test_a_pending_order_times_out_and_a_late_reservation_gives_the_stock_back(admin):
    # given: an order that stays pending because product's worker is down
    user = login(register())
    product = _new_product(admin, stock=5)
    compose("stop", "product-worker")
    try:
        response = user.client.post(
            "/api/orders/", json={"items": [{"product_id": product["id"], "quantity": 2}]}, headers=user.auth
        )
        assert response.status_code == 202, response.text
        order_id = response.json()["id"]
        # when: the timeout runs (what the order worker's beat does after ORDER_PENDING_TIMEOUT_SECONDS)
        compose("exec", "-T", "order", "python", "manage.py", "expire_pending_orders", "--older-than", "0")
        order = user.client.get(f"/api/orders/{order_id}/", headers=user.auth).json()
        assert order["status"] == "rejected"
        assert order["history"][-1]["reason"] == "timed out"
    finally:
        compose("start", "product-worker")
    # then: product reserves late, order answers with order.cancelled and the stock comes back
    released = (
        "SELECT count(*) FROM events_outboxevent WHERE event_type = 'order.cancelled' "
        f"AND envelope->'payload'->>'order_id' = '{order_id}'"
    )
    wait_for(lambda: psql(f"order-db-{server_of(user.id)}", "orders", released) == [["1"]], timeout=60, interval=1)
    wait_for(lambda: _stock(product) == 5, timeout=30, interval=0.5)
    assert user.client.get(f"/api/orders/{order_id}/", headers=user.auth).json()["status"] == "rejected"


# --- pruning ---------------------------------------------------------------------------------------------
def test_old_event_rows_are_pruned_and_recent_or_pending_ones_kept():
    # given: on user's home server, an old and a recent inbox row, an old replayed and an old waiting
    # dead letter, and an old sent and an old unsent outbox row
    tag = uuid.uuid4().hex[:12]
    envelope = json.dumps({"id": tag})
    psql(
        "user-db-0",
        "users",
        f"INSERT INTO events_inboxevent (key, event_type, result, created_at, updated_at) VALUES "
        f"('old-{tag}', 'test', '', now() - interval '400 days', now()), ('new-{tag}', 'test', '', now(), now()); "
        f"INSERT INTO events_deadletter (event_id, event_type, envelope, error, attempts, replayed_at, created_at, "
        f"updated_at) VALUES ('gone-{tag}', 'test', '{envelope}', 'x', 1, now() - interval '400 days', now(), now()), "
        f"('kept-{tag}', 'test', '{envelope}', 'x', 1, NULL, now() - interval '400 days', now()); "
        f"INSERT INTO events_outboxevent (id, event_type, envelope, sent_at, attempts, created_at, updated_at) VALUES "
        f"('{uuid.uuid4()}', 'test-{tag}', '{envelope}', now() - interval '400 days', 0, now(), now()), "
        f"('{uuid.uuid4()}', 'unsent-{tag}', '{envelope}', NULL, 0, now() - interval '400 days', now())",
    )
    try:
        # when: the prune the worker's beat runs every EVENT_PRUNE_SECONDS
        compose("exec", "-T", "user-worker", "python", "manage.py", "prune_events")
        # then
        left = psql(
            "user-db-0",
            "users",
            f"SELECT 'inbox:' || key FROM events_inboxevent WHERE key LIKE '%{tag}' UNION ALL "
            f"SELECT 'dead:' || event_id FROM events_deadletter WHERE event_id LIKE '%{tag}' UNION ALL "
            f"SELECT 'outbox:' || event_type FROM events_outboxevent WHERE event_type LIKE '%{tag}'",
        )
        assert sorted(row[0] for row in left) == [f"dead:kept-{tag}", f"inbox:new-{tag}", f"outbox:unsent-{tag}"]
    finally:
        psql(
            "user-db-0",
            "users",
            f"DELETE FROM events_inboxevent WHERE key LIKE '%{tag}'; "
            f"DELETE FROM events_deadletter WHERE event_id LIKE '%{tag}'; "
            f"DELETE FROM events_outboxevent WHERE event_type LIKE '%{tag}'",
        )


# --- the cache holds JSON ---------------------------------------------------------------------------------
def test_the_cache_holds_json_never_pickle(products):
    # given: a product read through the API (past the edge cache), so that it is in the cache layers
    response = Client().get(f"/api/products/{products[0]['id']}/", params={"fresh": uuid.uuid4().hex})
    assert response.status_code == 200
    # when: every string value the product service keeps in redis-cache is read back
    script = (
        "for k in $(redis-cli --scan --pattern 'product:*' | head -n 100); do "
        'if [ "$(redis-cli TYPE "$k")" = string ]; then printf "%s\\t" "$k"; redis-cli --raw GET "$k"; fi; done'
    )
    lines = compose("exec", "-T", "redis-cache", "sh", "-c", script).splitlines()
    values = dict(line.split("\t", 1) for line in lines if "\t" in line)
    # then: each is JSON text (an integer, such as a catalog generation, is JSON too), and the product is there
    assert values
    for key, value in values.items():
        try:
            json.loads(value)
        except ValueError:
            pytest.fail(f"{key} does not hold JSON: {value[:60]!r}")
    assert any(isinstance(json.loads(value), dict) for value in values.values()), values.keys()
