"""PgBouncer's pools and statistics for Prometheus, from the admin console of every PgBouncer listed.

PGBOUNCERS="user=user-pgbouncer:6432 product=product-pgbouncer:6432 ..." names each PgBouncer's service
(the label `service`) and its address; PGBOUNCER_ADMIN_USER and PGBOUNCER_ADMIN_PASSWORD (or
PGBOUNCER_ADMIN_PASSWORD_FILE) log in to its console (stats_users in deploy/pgbouncer/entrypoint.sh).
Each scrape opens a new console connection to each PgBouncer (a restarted PgBouncer is read again at the
next scrape) with a short timeout; one that does not answer gives pgbouncer_up 0 and no other series.
Every pool is a shard server of the service (db0, db0_replica, ..., and the `_maint` pools).
"""

from __future__ import annotations

import os
import time

import psycopg2
from prometheus_client import start_http_server
from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily

# SHOW POOLS column -> (metric, help); counts of connections per pool (database, user)
POOLS = {
    "cl_active": ("client_active_connections", "Client connections linked to a server connection"),
    "cl_waiting": ("client_waiting_connections", "Client connections waiting for a server connection"),
    "sv_active": ("server_active_connections", "Server connections linked to a client"),
    "sv_idle": ("server_idle_connections", "Server connections idle and ready for a client"),
    "sv_used": ("server_used_connections", "Server connections idle longer than server_check_delay"),
    "sv_tested": ("server_testing_connections", "Server connections being tested or reset"),
    "sv_login": ("server_login_connections", "Server connections logging in"),
}
# SHOW STATS column -> (metric, help, divisor to seconds)
STATS = {
    "total_xact_count": ("sql_transactions_pooled_total", "Transactions pooled", 1),
    "total_query_count": ("queries_pooled_total", "Queries pooled", 1),
    "total_xact_time": ("sql_transactions_duration_seconds_total", "Time spent in transactions", 1e6),
    "total_query_time": ("queries_duration_seconds_total", "Time spent running queries", 1e6),
    "total_wait_time": ("client_wait_seconds_total", "Time clients waited for a server connection", 1e6),
}


def pgbouncers(spec: str) -> dict[str, tuple[str, int]]:
    found = {}
    for entry in spec.split():
        service, _, address = entry.partition("=")
        host, _, port = address.partition(":")
        found[service] = (host, int(port or 6432))
    return found


def _rows(cursor, command: str) -> list[dict]:
    cursor.execute(command)
    names = [column.name for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class PgBouncerCollector:
    def __init__(self, targets: dict[str, tuple[str, int]], user: str, password: str, timeout: int = 2):
        self.targets, self.user, self.password, self.timeout = targets, user, password, timeout

    def read(self, host: str, port: int) -> tuple[list[dict], list[dict]]:
        connection = psycopg2.connect(
            host=host, port=port, dbname="pgbouncer", user=self.user, password=self.password,
            connect_timeout=self.timeout,
        )  # fmt: skip
        try:
            connection.autocommit = True  # the console has no transactions
            with connection.cursor() as cursor:
                return _rows(cursor, "SHOW POOLS"), _rows(cursor, "SHOW STATS")
        finally:
            connection.close()

    def collect(self):
        up = GaugeMetricFamily("pgbouncer_up", "1 if PgBouncer's console answered this scrape", labels=["service"])
        pools = {
            column: GaugeMetricFamily(f"pgbouncer_pools_{name}", text, labels=["service", "database", "user"])
            for column, (name, text) in POOLS.items()
        }
        maxwait = GaugeMetricFamily(
            "pgbouncer_pools_client_maxwait_seconds",
            "How long the oldest waiting client of the pool has waited",
            labels=["service", "database", "user"],
        )
        stats = {
            column: CounterMetricFamily(f"pgbouncer_stats_{name}", text, labels=["service", "database"])
            for column, (name, text, _) in STATS.items()
        }
        for service, (host, port) in self.targets.items():
            try:
                pool_rows, stat_rows = self.read(host, port)
            except psycopg2.Error:
                up.add_metric([service], 0)
                continue
            up.add_metric([service], 1)
            for row in pool_rows:
                if row["database"] == "pgbouncer":  # the console itself
                    continue
                labels = [service, row["database"], row["user"]]
                for column, family in pools.items():
                    family.add_metric(labels, float(row.get(column) or 0))
                maxwait.add_metric(labels, float(row.get("maxwait") or 0) + float(row.get("maxwait_us") or 0) / 1e6)
            for row in stat_rows:
                if row["database"] == "pgbouncer":
                    continue
                for column, (_, _, divisor) in STATS.items():
                    stats[column].add_metric([service, row["database"]], float(row.get(column) or 0) / divisor)
        yield up
        yield from pools.values()
        yield maxwait
        yield from stats.values()


def _password() -> str:
    path = os.environ.get("PGBOUNCER_ADMIN_PASSWORD_FILE")
    if path:
        with open(path) as f:
            return f.read().strip()
    return os.environ["PGBOUNCER_ADMIN_PASSWORD"]


def main() -> None:
    targets = pgbouncers(os.environ["PGBOUNCERS"])
    user = os.environ.get("PGBOUNCER_ADMIN_USER", "pgbouncer_admin")
    port = int(os.environ.get("PORT", "9127"))
    REGISTRY.register(PgBouncerCollector(targets, user, _password()))
    start_http_server(port)
    print(f"pgbouncer-exporter: :{port}/metrics for {', '.join(targets)}", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
