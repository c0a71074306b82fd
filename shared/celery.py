"""Celery glue every service uses: one app per service, configured from Django settings (CELERY_*).

At-least-once delivery: late acks, requeue when a worker dies mid-task, prefetch 1 (see base settings).
Each service's worker consumes the queue named after the service.

Metrics of a worker. The worker runs the prefork pool: its tasks run in child processes that the main
process forks (and forks again when one dies), and the beat runs in one more process beside them. A
registry in one process cannot see the others' counters, so every process writes its metrics to files
in PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode, as gunicorn's workers do: the image
sets it, start.sh empties it) and the main process, which runs no task, serves them all merged on
WORKER_METRICS_PORT (default 9808) at /metrics. A pool with one process (solo, threads) would avoid the
files but would give up the prefork pool's isolation and its parallelism across processes.

Health of a worker. `celery inspect ping` starts a whole Celery and Django process for each check
(about half a second of CPU; three workers checked together stalled the 2-core machine for most of a
second every 30 s, the tail of every benchmark read). Instead, while the worker's consumer is connected
to the broker, its event loop touches WORKER_ALIVE_FILE every ALIVE_EVERY_SECONDS (`AliveFile`), and the
health check asks only whether that file is fresh (`find ... -mmin -1`: a hung loop or a lost broker
connection lets it age).
"""

from __future__ import annotations

import logging
import os
import time
from datetime import datetime
from pathlib import Path

from celery import Celery, bootsteps, signals
from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess, start_http_server

logger = logging.getLogger(__name__)
PUBLISHED_AT = "published_at"  # the message header publishing stamps (Unix time), read when a task starts
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

TASKS_PUBLISHED = Counter("celery_tasks_published_total", "Tasks sent to the broker", ["queue", "task"])
TASK_QUEUE_WAIT = Histogram(
    "celery_task_queue_wait_seconds",
    "From publishing a task (or its ETA, for a delayed retry) to a worker starting it",
    ["queue", "task"],
    buckets=LATENCY_BUCKETS,
)
TASK_RUNTIME = Histogram(
    "celery_task_runtime_seconds",
    "How long a task ran, by its end state (SUCCESS, RETRY, FAILURE)",
    ["queue", "task", "state"],
    buckets=LATENCY_BUCKETS,
)
_started: dict[str, float] = {}  # task id -> monotonic start, in the process that runs it
ALIVE_EVERY_SECONDS = 10.0


class AliveFile(bootsteps.StartStopStep):
    """A consumer step: touches WORKER_ALIVE_FILE from the event loop while connected to the broker."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        self.path = Path(os.environ.get("WORKER_ALIVE_FILE", "/tmp/worker-alive"))
        self.timer = None

    def start(self, parent) -> None:
        self.touch()
        self.timer = parent.timer.call_repeatedly(ALIVE_EVERY_SECONDS, self.touch)

    def stop(self, parent) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.path.unlink(missing_ok=True)

    shutdown = stop

    def touch(self) -> None:
        self.path.touch()


# tasks after which Celery's fixup closes a pool process's connections anyway (a backstop, not the rule)
KEEP_CONNECTIONS_FOR_TASKS = 10_000


def make_celery_app(service: str) -> Celery:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    app = Celery(service)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    # Celery's Django fixup closes every database connection before and after each task unless this is
    # set, and then only every that many tasks: each event handled paid a new connection to PgBouncer
    # (TCP and a SCRAM exchange on both sides) per alias. Connections are kept instead, and closed by
    # Django's own rule around each task (`_close_old_connections`).
    app.conf["CELERY_DB_REUSE_MAX"] = KEEP_CONNECTIONS_FOR_TASKS
    app.conf.task_default_queue = service
    app.autodiscover_tasks()
    app.steps["consumer"].add(AliveFile)
    return app


def _queue(request) -> str:
    return (getattr(request, "delivery_info", None) or {}).get("routing_key") or "unknown"


def _eta_timestamp(eta) -> float | None:
    if not eta:
        return None
    try:
        return (eta if isinstance(eta, datetime) else datetime.fromisoformat(str(eta))).timestamp()
    except ValueError:
        return None


@signals.before_task_publish.connect
def _stamp_published(sender=None, headers=None, routing_key=None, **kwargs) -> None:
    if headers is not None:
        headers[PUBLISHED_AT] = time.time()  # also on a retry: its wait starts again
    TASKS_PUBLISHED.labels(routing_key or "unknown", sender or "unknown").inc()


@signals.task_prerun.connect
def _task_started(task_id=None, task=None, **kwargs) -> None:
    _started[task_id] = time.monotonic()
    request = task.request
    published = request.get(PUBLISHED_AT)
    if published is None:
        return
    # a delayed task (countdown, retry backoff) waits on purpose until its ETA: that is not queueing
    ready = max(float(published), _eta_timestamp(request.get("eta")) or 0.0)
    TASK_QUEUE_WAIT.labels(_queue(request), task.name).observe(max(time.time() - ready, 0.0))


@signals.task_postrun.connect
def _task_finished(task_id=None, task=None, state=None, **kwargs) -> None:
    started = _started.pop(task_id, None)
    if started is not None:
        TASK_RUNTIME.labels(_queue(task.request), task.name, state or "unknown").observe(time.monotonic() - started)


@signals.worker_init.connect
def _serve_metrics(**kwargs) -> None:
    """In the worker's main process, before the pool starts: serve every process's metrics."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        logger.warning("PROMETHEUS_MULTIPROC_DIR is not set: the worker serves no metrics")
        return
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    port = int(os.environ.get("WORKER_METRICS_PORT", "9808"))
    start_http_server(port, registry=registry)
    logger.info("worker metrics on :%s/metrics", port)


@signals.task_prerun.connect
@signals.task_postrun.connect
def _close_old_connections(**kwargs) -> None:
    """Around each task, Django's rule for a web request: close a connection that broke or is older than
    CONN_MAX_AGE, keep the others (see `KEEP_CONNECTIONS_FOR_TASKS`), and check each kept one before
    the task's first query on it (CONN_HEALTH_CHECKS, which costs no statement: see
    shared/db/backend/liveness.py), so a task does not fail on a connection PgBouncer closed."""
    from django.db import close_old_connections

    close_old_connections()


@signals.worker_process_shutdown.connect
def _forget_process(pid=None, **kwargs) -> None:
    # a pool child that ends: its live gauges go (its counters stay in the sums, as gunicorn's do)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid or os.getpid())
