"""shared.metrics: prometheus_client's multiprocess values without `os.getpid()` per update, and a forked
child still writing files of its own (as a gunicorn worker or a Celery pool process does)."""

import os
import uuid
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, values
from prometheus_client.multiprocess import MultiProcessCollector

from shared import metrics


def test_metric_values_take_the_process_id_from_shared_metrics_not_from_the_kernel():
    # given: the image's multiprocess mode, installed when the package was imported; an ID no process has
    assert os.environ.get("PROMETHEUS_MULTIPROC_DIR") and values.ValueClass._multiprocess
    directory, real = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]), metrics.process_id()
    counter = Counter(f"test_updates_{uuid.uuid4().hex[:8]}", "test", registry=None)
    metrics._process_id = unknown = real + 10_000_000
    try:
        # when
        counter.inc()
    finally:
        metrics._process_id = real
        counter.inc()  # back to this process's own files
    # then: the update went to files named after the ID shared.metrics gave (no os.getpid() asked)
    assert (directory / f"counter_{unknown}.db").exists()
    (directory / f"counter_{unknown}.db").unlink()


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
