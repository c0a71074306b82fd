"""prometheus_client's multiprocess mode without a system call on every update of a metric.

In multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set by the image: gunicorn's workers and a Celery worker's
pool processes each write their metrics to files of their own, merged when scraped), every update of a
value asks `os.getpid()` whether the process was forked since, so that a forked child starts files of
its own. That is a system call per update, tens of them per request: `make profile` found
`__check_for_pid_change` among the first functions of every web tier (1.5-3.6% of its samples). A
process ID changes only in the child of a fork, so here it is read once and again in each new child
(`os.register_at_fork`), and prometheus_client is given that instead (its `process_identifier`).

`use_cached_process_id` must run before the process makes its first metric (a value made earlier would
keep files that the new value class does not know, and both would write the same file): the package
`shared` calls it on import, which every service's settings and Celery app do before anything else
(`shared/tests/test_metrics.py`).
"""

from __future__ import annotations

import os

_process_id = os.getpid()
_installed = False


def _forked() -> None:
    global _process_id
    _process_id = os.getpid()


def process_id() -> int:
    """This process's ID, as of the last fork."""
    return _process_id


def use_cached_process_id() -> None:
    """Make prometheus_client's multiprocess values check `process_id()` rather than `os.getpid()`."""
    global _installed
    if _installed or not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    # imported here: the host's scripts use stdlib-only modules of `shared` (deploy/swarm/render.py)
    # where prometheus_client is not installed, nor PROMETHEUS_MULTIPROC_DIR set
    from prometheus_client import values

    os.register_at_fork(after_in_child=_forked)
    values.ValueClass = values.MultiProcessValue(process_identifier=process_id)
    _installed = True
