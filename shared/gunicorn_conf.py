"""gunicorn settings of every Django web container (threaded workers, sized for a 2-core machine)."""

import gc
import os
from importlib import import_module

from prometheus_client import multiprocess

bind = "0.0.0.0:8000"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = 30
graceful_timeout = 20
keepalive = 30  # longer than the callers' pool idle time, so pooled keep-alive connections stay usable
max_requests = 5000
max_requests_jitter = 500
# one line per request on stdout; ACCESS_LOG=off for a process whose requests another tier logs with
# the same request ID (the gateway: nginx logs every request it forwards)
accesslog = None if os.environ.get("ACCESS_LOG") == "off" else "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}i)s'
forwarded_allow_ips = "*"
# The application is loaded once, in the arbiter, and each worker is a fork of it: a worker that
# max_requests retires is replaced by a fork, not by a process importing Django, DRF and the service
# again (0.7 s of CPU in the product image) on a machine that is serving requests meanwhile.
# Nothing opens a connection or starts a thread while loading (they are made on first use in each
# worker), and what keeps a process ID follows forks (shared/metrics.py, shared/events/outbox.py).
preload_app = True


def when_ready(server):
    # Django imports the URLconf, and with it the views and serializers, on a process's first request:
    # 13-14 ms of the 31 that a new product worker's first catalog page took. Done here, in the arbiter,
    # every worker is forked with it done.
    from django.conf import settings

    import_module(settings.ROOT_URLCONF)


def pre_fork(server, worker):
    # What loading the application made (about 100,000 objects) lives as long as the process: freezing
    # it keeps it out of every later collection. A full collection walks each object not frozen, and
    # without this one pause was 76-158 ms in the product image, on whichever request was allocating
    # then (`make bench-gc`). Called before each fork, so a replacement worker inherits it too.
    gc.freeze()


def child_exit(server, worker):
    # drop the metrics files of a worker that is gone (django-prometheus in multiprocess mode)
    multiprocess.mark_process_dead(worker.pid)
