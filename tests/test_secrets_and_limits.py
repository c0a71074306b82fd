"""Secrets, the private key, time limits, the pending-order timeout, pruning and the cache's format, on the
real stack (and `make env` on its own, in a temporary directory)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from support import (
    DOMAINS,
    ROOT,
    Client,
    compose,
    login,
    paused,
    process_of,
    psql,
    register,
    server_of,
    setting,
    wait_for,
    web_of,
    worker_of,
)

WELL_KNOWN = {
    "DJANGO_SECRET_KEY": "dev-only-not-secret-change-me",
    "DB_PASSWORD": "app",
    "ADMIN_PASSWORD": "admin-Passw0rd!",
    "POSTGRES_PASSWORD": "postgres",
    "REPLICATION_PASSWORD": "replicator",
    "PGBOUNCER_ADMIN_PASSWORD": "pgbouncer-admin",
    "SEED_USER_PASSWORD": "seed-users-Passw0rd!",
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
    lines = compose("exec", "-T", *process_of("user"), "env").splitlines()
    env = dict(line.split("=", 1) for line in lines if "=" in line)
    assert env["ALLOW_INSECURE_DEFAULTS"] == "0"
    assert env["DJANGO_SECRET_KEY"] != WELL_KNOWN["DJANGO_SECRET_KEY"] and env["DB_PASSWORD"] != "app"


def test_a_django_process_refuses_a_well_known_secret():
    run = ["docker", "compose", "run", "--rm", "--no-deps", "-T", "-e", "DB_PASSWORD=app"]
    result = _run(*run, "-e", "ALLOW_INSECURE_DEFAULTS=0", "order", "python", "manage.py", "check")
    assert result.returncode != 0
    assert "Refusing to start with well-known secrets: DB_PASSWORD" in result.stderr


REFUSALS = {
    # service: (its environment with one well-known secret, what it says)
    "order-db-0": (
        {
            "POSTGRES_DB": "x",
            "POSTGRES_PASSWORD": "postgres",
            "APP_PASSWORD": "real-1",
            "REPLICATION_PASSWORD": "real-2",
        },
        "refusing to start with well-known passwords: POSTGRES_PASSWORD",
    ),
    "order-pgbouncer": (
        {"PGBOUNCER_SERVERS": "db0=nowhere", "DB_NAME": "x", "APP_PASSWORD": "real-1"}
        | {"PGBOUNCER_ADMIN_PASSWORD": "pgbouncer-admin"},
        "refusing to start with the well-known PGBOUNCER_ADMIN_PASSWORD",
    ),
    "redis-broker": (
        {"REDIS_USER": "celery", "REDIS_PASSWORD": "redis-broker"},
        "refusing to start with a well-known Redis password",
    ),
    "nginx": ({"NGINX_PURGE_TOKEN": "edge-purge-dev"}, "refusing to start with the well-known EDGE_PURGE_TOKEN"),
}


@pytest.mark.parametrize("service", sorted(REFUSALS))
def test_every_server_refuses_a_well_known_secret(service):
    # a container of its own (no data volume, no network): it must stop before doing anything
    environment, refusal = REFUSALS[service]
    image = json.loads(compose("config", "--format", "json"))["services"][service]["image"]
    name = f"refuse-{uuid.uuid4().hex[:8]}"
    flags = [part for key, value in environment.items() for part in ("-e", f"{key}={value}")]
    try:
        result = _run("docker", "run", "--rm", "--name", name, "--network", "none", *flags, image, timeout=60)
    finally:
        _run("docker", "rm", "-f", name)
    assert result.returncode == 1, result
    assert refusal in result.stderr


def test_only_the_user_web_service_holds_the_jwt_private_key():
    # the gateway, each domain's web process and worker (the monolith and its worker in that mode)
    processes = {"gateway", *(web_of(domain) for domain in DOMAINS), *(worker_of(domain) for domain in DOMAINS)}
    holders = {
        service
        for service in processes
        if _run("docker", "compose", "exec", "-T", service, "test", "-e", "/keys/private/jwt_private.pem").returncode
        == 0
    }
    assert holders == {web_of("user")}


def _through_pgbouncer(pool: str, sql: str, *, as_admin: bool = False) -> subprocess.CompletedProcess:
    login = (
        'PGPASSWORD="$PGBOUNCER_ADMIN_PASSWORD" psql -U pgbouncer_admin'
        if as_admin
        else 'PGPASSWORD="$APP_PASSWORD" psql -U app'
    )
    command = f'{login} -h 127.0.0.1 -p 6432 -d {pool} -tAc "{sql}"'
    return _run("docker", "compose", "exec", "-T", "order-pgbouncer", "sh", "-c", command, timeout=60)


def test_pgbouncers_admin_console_is_its_own_users_not_the_applications():
    # when: the application's user and the console's own user ask the console
    as_app = _through_pgbouncer("pgbouncer", "SHOW POOLS")
    as_admin = _through_pgbouncer("pgbouncer", "SHOW POOLS", as_admin=True)
    pause = _through_pgbouncer("pgbouncer", "PAUSE db0")
    # then: only the console's user is let in; the application can neither read nor pause the pools
    assert as_app.returncode != 0 and "not allowed" in as_app.stderr, as_app
    assert pause.returncode != 0, pause
    assert as_admin.returncode == 0 and "db0_maint" in as_admin.stdout, as_admin
    # and the console's user is no database role: it reaches no server pool
    assert _through_pgbouncer("db0", "SELECT 1", as_admin=True).returncode != 0


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
    out = compose("exec", "-T", *process_of("order", worker=True), "python", "manage.py", "shell", "-c", code)
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
    compose("stop", worker_of("product"))
    try:
        response = user.client.post(
            "/api/orders/", json={"items": [{"product_id": product["id"], "quantity": 2}]}, headers=user.auth
        )
        assert response.status_code == 202, response.text
        order_id = response.json()["id"]
        # when: the timeout runs (what the order worker's beat does after ORDER_PENDING_TIMEOUT_SECONDS)
        compose("exec", "-T", *process_of("order"), "python", "manage.py", "expire_pending_orders", "--older-than", "0")
        order = user.client.get(f"/api/orders/{order_id}/", headers=user.auth).json()
        assert order["status"] == "rejected"
        assert order["history"][-1]["reason"] == "timed out"
    finally:
        compose("start", worker_of("product"))
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
        compose("exec", "-T", *process_of("user", worker=True), "python", "manage.py", "prune_events")
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
    # when: every string value the product service keeps in redis-cache is read back, each key's type
    # and value in one script (atomic: a page's entry expiring between a TYPE and a GET read as '')
    type_and_value = (
        "local t = redis.call('TYPE', KEYS[1]).ok; "
        "if t == 'string' then return 'string:' .. redis.call('GET', KEYS[1]) end; return t"
    )
    script = (
        # as the cache's own user (the ACL of deploy/redis/entrypoint.sh)
        'r() { redis-cli --user app --pass "$REDIS_PASSWORD" --no-auth-warning "$@"; }; '
        "for k in $(r --scan --pattern 'product:*' | head -n 100); do "
        f'printf "%s\\t" "$k"; r --raw EVAL "{type_and_value}" 1 "$k"; done'
    )
    lines = compose("exec", "-T", "redis-cache", "sh", "-c", script).splitlines()
    found = dict(line.split("\t", 1) for line in lines if "\t" in line)
    values = {key: found[key].removeprefix("string:") for key in found if found[key].startswith("string:")}
    # then: each is JSON text (an integer, such as a catalog generation, is JSON too), and the product is there
    assert values
    for key, value in values.items():
        try:
            json.loads(value)
        except ValueError:
            pytest.fail(f"{key} does not hold JSON: {value[:60]!r}")
    assert any(isinstance(json.loads(value), dict) for value in values.values()), values.keys()


def _timed_get(client: Client, path: str, headers: dict) -> tuple[float, int, dict]:
    started = time.monotonic()
    response = client.get(path, headers=headers, timeout=30)
    return time.monotonic() - started, response.status_code, response.json()


def test_a_replica_that_hangs_holds_only_a_few_requests_and_the_rest_are_served_at_once(user):
    """A standby that accepts connections and never answers (paused) must not hold every thread of the
    service: the bulkhead lets REPLICA_MAX_IN_FLIGHT reads of a process wait on it, the rest go to the
    primary; the waiting ones end within the request's budget (200 from the primary, or a JSON 504)."""
    replica = f"order-db-{server_of(user.id)}-replica"
    with paused(replica), ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: _timed_get(Client(), "/api/orders/", user.auth), range(16)))
    fast = [r for r in results if r[0] < 2.0 and r[1] == 200]
    slow = [r for r in results if r not in fast]
    # 2 order processes x REPLICA_MAX_IN_FLIGHT (2) reads may wait on the replica, and a probe per process
    assert len(fast) >= 16 - 6, results
    for seconds, status, body in slow:
        assert seconds < 14.0, results  # within the gateway's 12 s budget, before nginx's own 15 s
        assert status == 200 or (status == 504 and body["error"]["code"] == "upstream_timeout"), results


def test_a_request_that_cannot_finish_gets_the_platforms_json_504_within_its_budget(user):
    """Every hop shares one budget (REQUEST_BUDGET_SECONDS, 12): with the order service frozen (it accepts
    connections and never answers), a read of one's orders is answered 504 in the one error shape by the
    platform itself (the gateway), before nginx's 15 s."""
    with paused(web_of("order")):
        seconds, status, body = _timed_get(Client(), "/api/orders/", user.auth)
    assert status == 504 and body["error"]["code"] == "upstream_timeout", body
    assert 11.0 <= seconds < 14.0


def test_a_shard_server_that_hangs_answers_503_with_retry_after_within_the_budget(user):
    """Both members of the user's order server frozen: HAProxy finds neither answering Patroni's checks
    and cuts their sessions, PgBouncer gives up on a server connection after query_wait_timeout, and the
    read is answered 503 `database_unavailable` with Retry-After, well inside the request's budget."""
    server = f"order-db-{server_of(user.id)}"
    with paused(server, f"{server}-replica"):
        started = time.monotonic()
        response = Client().get("/api/orders/", headers=user.auth, timeout=30)
        seconds = time.monotonic() - started
    assert response.status_code == 503 and response.json()["error"]["code"] == "database_unavailable", response.text
    assert response.headers.get("Retry-After") and seconds < 11.0, seconds


def _purge(container: str, token: str | None) -> str:
    header = f'-H "X-Purge-Token: {token}"' if token else ""
    url = "http://nginx:8081/purge/api/products/1/"
    return compose("exec", "-T", container, "sh", "-c", f"curl -s -o /dev/null -w '%{{http_code}}' {header} {url}")


def test_only_the_product_worker_can_purge_the_edge():
    worker = worker_of("product")
    token = compose("exec", "-T", worker, "sh", "-c", 'printf %s "$EDGE_PURGE_TOKEN"')
    # the product worker, with its token: purged (200) or nothing to purge (404)
    assert _purge(worker, "$EDGE_PURGE_TOKEN") in {"200", "404"}
    # nobody else holds the token, and without it nginx refuses
    assert compose("exec", "-T", web_of("product"), "sh", "-c", 'printf %s "${EDGE_PURGE_TOKEN:-none}"') == "none"
    assert _purge("gateway", None) == "403"
    assert _purge(worker, "not-" + token) == "403"
    assert _purge(worker, None) == "403"


def _redis(container: str, *args: str, user: str | None = None, password_var: str | None = None) -> str:
    auth = f'--user {user} --pass "${password_var}" --no-auth-warning ' if user else ""
    return compose("exec", "-T", container, "sh", "-c", f"redis-cli {auth}{' '.join(args)} 2>&1").strip()


@pytest.mark.parametrize(("container", "user"), [("redis-cache", "app"), ("redis-broker", "celery")])
def test_redis_needs_its_roles_password_and_refuses_admin_commands(container, user):
    # without credentials: only PING (the health check)
    assert _redis(container, "ping") == "PONG"
    assert "NOPERM" in _redis(container, "get", "anything")
    # with the role's user: its work, never the admin's
    assert _redis(container, "set", "acl-probe", "1", user=user, password_var="REDIS_PASSWORD") == "OK"
    assert "NOPERM" in _redis(container, "flushall", user=user, password_var="REDIS_PASSWORD")
    assert "NOPERM" in _redis(container, "config", "get", "dir", user=user, password_var="REDIS_PASSWORD")
    assert "WRONGPASS" in _redis(container, "ping", user=user, password_var="NO_SUCH_VARIABLE")
    _redis(container, "del", "acl-probe", user=user, password_var="REDIS_PASSWORD")


def _reaches(container: str, host: str, port: int) -> bool:
    code = f"import socket; socket.create_connection(('{host}', {port}), timeout=2)"
    return (
        compose("exec", "-T", container, "sh", "-c", f'python3 -c "{code}" 2>/dev/null && echo yes || echo no')
        == "yes\n"
    )


def test_the_tiers_are_networks_of_their_own_the_edge_reaches_neither_postgres_nor_redis():
    # the gateway (edge and application tiers) reaches the services, never the data or the broker tier
    assert _reaches("gateway", web_of("product"), 8000)
    assert not _reaches("gateway", "user-pgbouncer", 6432)
    assert not _reaches("gateway", "redis-cache", 6379)
    # nginx does not even know their names
    hosts = compose("exec", "-T", "nginx", "sh", "-c", "getent hosts user-db-0 redis-broker user-pgbouncer || true")
    assert hosts.strip() == ""
    # a service reaches its PgBouncer and Redis
    assert _reaches(web_of("order"), "order-pgbouncer", 6432) and _reaches(web_of("order"), "redis-broker", 6379)
