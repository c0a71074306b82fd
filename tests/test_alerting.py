"""What Prometheus measures and what it alerts on, on the running stack: every target is scraped, the
recording rules give the scaling inputs per service, the alert rules are loaded and reach Alertmanager,
stopping a standby raises ShardServerWithoutStandby in Alertmanager and a repository that cannot be written
raises WalArchivingFailing, a server whose newest backup is two days old raises BackupTooOld (each resolves
when it is back), and a dead letter raises DeadLettersPresent."""

from __future__ import annotations

import functools
import json

import pytest

from support import Client, compose, event_envelope, leader_of, psql, send_event, standby_of, wait_for

pytestmark = pytest.mark.topology  # Prometheus' targets and alerts name the services

ALERTS = {
    "ServiceP99OverBudget",
    "ServiceErrorRateHigh",
    "StandbyLagging",
    "ShardServerWithoutLeader",
    "ShardServerWithoutStandby",
    "WalArchivingFailing",
    "BackupTooOld",
    "CeleryQueueGrowing",
    "OutboxBacklogGrowing",
    "DeadLettersPresent",
}


def _prometheus(path: str, **params) -> dict:
    args = [part for k, v in params.items() for part in ("--data-urlencode", f"{k}={v}")]
    out = compose("exec", "-T", "prometheus", "curl", "-fsS", "-G", *args, f"http://127.0.0.1:9090{path}")
    return json.loads(out)["data"]


def _series(query: str) -> list[dict]:
    return _prometheus("/api/v1/query", query=query)["result"]


def _alertmanager_alerts() -> list[dict]:
    # Alertmanager's own view, asked from Prometheus's container (Alertmanager's image has no HTTP client)
    out = compose("exec", "-T", "prometheus", "curl", "-fsS", "http://alertmanager:9093/api/v2/alerts")
    return json.loads(out)


def _firing(alertname: str) -> set[str]:
    """The servers (an exporter's `server`, or Patroni's `scope`) of the active alerts `alertname` that
    Alertmanager holds."""
    return {
        alert["labels"].get("server") or alert["labels"].get("scope", "")
        for alert in _alertmanager_alerts()
        if alert["labels"]["alertname"] == alertname and alert["status"]["state"] == "active"
    }


def test_every_process_and_exporter_is_scraped():
    def up() -> dict[str, int]:
        targets = _prometheus("/api/v1/targets")["activeTargets"]
        found: dict[str, int] = {}
        for target in targets:
            if target["health"] == "up":
                found[target["labels"]["job"]] = found.get(target["labels"]["job"], 0) + 1
        return found

    expected = {"django": 4, "celery-queues": 1, "postgres": 1, "alertmanager": 1, "autoscaler": 1, "prometheus": 1}
    expected |= {"patroni": 12}  # every member of every shard server
    wait_for(lambda: all(up().get(job, 0) >= n for job, n in expected.items()), timeout=60, interval=3)


def test_the_recording_rules_give_each_services_scaling_inputs():
    def services(query: str) -> set[str]:
        return {
            s["metric"].get("service") or s["metric"].get("server") or s["metric"].get("queue") for s in _series(query)
        }

    web = {"gateway", "user", "product", "order"}
    wait_for(lambda: web <= services("service:cpu_percent:avg"), timeout=60, interval=3)
    assert web <= services("service:memory_percent:avg")
    assert web <= services("service:replicas")
    assert services("queue:celery_tasks_waiting") == {"user", "product", "order"}
    assert len(services("server:pg_connections")) == 12  # every shard server, primaries and standbys
    assert len(services("pg_replication_lag_seconds")) == 12
    # after some catalog reads: product's cache hit ratios and the replicas' share of its reads
    for n in range(20):
        Client().get(f"/api/products/?page_size={10 + n % 3}&probe={n}")
    ratios = ("service:cache_hit_ratio:l1", "service:cache_hit_ratio:l2", "service:db_reads:replica_ratio")
    wait_for(lambda: all("product" in services(ratio) for ratio in ratios), timeout=60, interval=3)
    # the events of every server: outbox backlog (6 primaries after the rule) and dead letters
    assert len(services("server:events_outbox_unsent")) == 6
    assert len(services("events_dead_letters_waiting")) == 12


def test_the_alert_rules_are_loaded_and_prometheus_reaches_alertmanager():
    groups = _prometheus("/api/v1/rules")["groups"]
    loaded = {rule["name"] for group in groups for rule in group["rules"] if rule["type"] == "alerting"}
    assert loaded == ALERTS
    assert all(rule["health"] == "ok" for group in groups for rule in group["rules"]), groups
    assert _prometheus("/api/v1/alertmanagers")["activeAlertmanagers"]


def test_a_stopped_standby_raises_shard_server_without_standby_in_alertmanager_and_it_resolves():
    alone = functools.partial(_firing, "ShardServerWithoutStandby")  # Patroni's view, label scope
    standby = standby_of("order-db-1")  # which member stands by: Patroni's to say
    assert "order-db-1" not in alone()
    compose("stop", standby)
    try:
        # then: within the rule's minute (and an evaluation or two), Alertmanager holds the alert
        wait_for(lambda: "order-db-1" in alone(), timeout=150, interval=5)
    finally:
        compose("up", "-d", "--wait", standby, timeout=180)
    wait_for(lambda: "order-db-1" not in alone(), timeout=120, interval=5)


def test_a_dead_letter_raises_dead_letters_present():
    firing = functools.partial(_firing, "DeadLettersPresent")
    # when: an event the user service cannot read (an unknown envelope version) reaches its worker
    bad = event_envelope("order.confirmed", {"user_id": "1"})
    bad["version"] = 99
    send_event("user", bad, times=1)
    # then: it is a dead letter on a user primary, and the alert reaches Alertmanager
    wait_for(lambda: any(server.startswith("user-db-") for server in firing()), timeout=90, interval=5)


def test_wal_that_cannot_be_archived_raises_wal_archiving_failing_and_it_resolves():
    firing = functools.partial(_firing, "WalArchivingFailing")
    server, archive = "product-db-1", "/var/lib/pgbackrest/archive/product-db-1"

    def new_segment() -> None:  # a record, then a switch: a full segment the archiver is woken for
        psql(server, "products", "CHECKPOINT")
        psql(server, "products", "SELECT pg_switch_wal()")

    assert f"{server}:5432" not in firing()
    # when: the server's part of the repository cannot be written (full, unmounted, permissions)
    compose("exec", "-T", server, "chmod", "-R", "a-w", archive)
    try:
        new_segment()
        # then: within the rule's minute (and a scrape and an evaluation or two), Alertmanager holds it
        wait_for(lambda: f"{server}:5432" in firing(), timeout=150, interval=5)
    finally:
        compose("exec", "-T", server, "chmod", "-R", "u+w", archive)
    # the waiting segments are archived once it works again, and the alert resolves
    new_segment()
    wait_for(lambda: f"{server}:5432" not in firing(), timeout=150, interval=5)


def test_a_server_without_a_recent_backup_raises_backup_too_old_and_a_backup_resolves_it():
    firing = functools.partial(_firing, "BackupTooOld")
    leader = leader_of("product-db-1")
    recorded = "SELECT extract(epoch FROM now() - finished_at)::int FROM pgbackrest.last_backup"
    # the first backup, at first start, was recorded where postgres-exporter reads it
    ((age,),) = psql(leader, "products", recorded)
    assert 0 <= int(age) < 26 * 3600 and f"{leader}:5432" not in firing()
    # when: the newest backup ended two days ago (as if the daily schedule had stopped)
    psql(leader, "products", "UPDATE pgbackrest.last_backup SET finished_at = now() - interval '2 days'")
    # then: within the rule's two minutes (and a scrape and an evaluation or two), Alertmanager holds it
    wait_for(lambda: f"{leader}:5432" in firing(), timeout=240, interval=5)
    # a backup now (what `make backup` runs) records its end, and the alert resolves
    compose("exec", "-T", leader, "backup.sh", "now", timeout=180)
    assert int(psql(leader, "products", recorded)[0][0]) < 300
    wait_for(lambda: f"{leader}:5432" not in firing(), timeout=150, interval=5)
