"""shared.metrics: prometheus_client's multiprocess values without `os.getpid()` per update, and a forked
child still writing files of its own (as a gunicorn worker or a Celery pool process does)."""

import os
import uuid
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, values
from prometheus_client.multiprocess import MultiProcessCollector

from shared import metrics


def test_metrics_are_multiprocess_values_that_read_the_cached_process_id():
    # given: the image's multiprocess mode, installed when the package was imported
    assert os.environ.get("PROMETHEUS_MULTIPROC_DIR") and values.ValueClass._multiprocess
    counter = Counter(f"test_updates_{uuid.uuid4().hex[:8]}", "test", registry=None)
    calls = []
    real = os.getpid
    os.getpid = lambda: calls.append(1) or real()
    try:
        # when
        for _ in range(100):
            counter.inc()
    finally:
        os.getpid = real
    # then: no system call per update
    assert calls == [] and metrics.process_id() == os.getpid()


def test_a_forked_child_writes_its_metrics_to_files_of_its_own():
    # given: a counter the parent updated before the fork
    name = f"test_forks_{uuid.uuid4().hex[:8]}"
    counter = Counter(name, "test", registry=None)
    counter.inc()
    # when: the child and then the parent update it
    child = os.fork()
    if child == 0:
        try:
            counter.inc(2)
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    counter.inc(4)
    # then: each process has its file, and the merged value counts every update once
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    assert (directory / f"counter_{child}.db").exists() and (directory / f"counter_{os.getpid()}.db").exists()
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    assert registry.get_sample_value(f"{name}_total") == 7
