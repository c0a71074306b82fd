"""What `/ops/` shows: one chart per signal, each a PromQL query over the recording rules
(deploy/prometheus/rules/recording.yml) and the exporters' series. A chart draws one line per value of
its `label` in the query's result; `scale` turns the stored unit into the one shown."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    query: str
    label: str  # the label whose values name the lines
    unit: str
    scale: float = 1.0


CHARTS = [
    Chart("requests", "Requests per second, per service", "service:http_requests:rate1m", "service", "req/s"),
    Chart("p99", "p99 latency, per service (budget 100 ms)", "service:http_latency_seconds:p99", "service", "ms", 1000),
    Chart("errors", "5xx share of responses, per service", "service:http_errors:ratio1m", "service", "%", 100),
    Chart("replicas", "Replicas, per service (the autoscaler's view)", "service:replicas", "service", "replicas"),
    Chart(
        "decisions",
        "Autoscaler decisions per minute, by action (up, down, hold, pinned)",
        "sum by (action) (increase(autoscaler_decisions_total[1m]))",
        "action",
        "decisions",
    ),
    Chart("queues", "Celery tasks waiting, per queue", "queue:celery_tasks_waiting", "queue", "tasks"),
    Chart("lag", "Replication lag, per standby", "max by (server) (pg_replication_lag_seconds)", "server", "s"),
    # Patroni's own view (job patroni, every member): 1 leader and 1 synchronous standby per server; 0
    # leaders during a failover, 0 standbys while the leader writes alone
    Chart("leaders", "Leaders, per shard server (Patroni)", "sum by (scope) (patroni_primary)", "scope", "members"),
    Chart(
        "sync",
        "Synchronous standbys, per shard server (Patroni)",
        "sum by (scope) (patroni_sync_standby)",
        "scope",
        "members",
    ),
    Chart(
        "cache",
        "Cache hit rate: the edge, and per service and layer",
        'label_replace(edge:cache_hit_ratio, "layer", "edge (nginx)", "", "")'
        ' or label_replace(service:cache_hit_ratio:l1, "layer", "$1 L1", "service", "(.*)")'
        ' or label_replace(service:cache_hit_ratio:l2, "layer", "$1 L2", "service", "(.*)")',
        "layer",
        "%",
        100,
    ),
    Chart("outbox", "Outbox events not yet sent, per shard server", "server:events_outbox_unsent", "server", "events"),
]
