"""gunicorn settings of every Django web container (threaded workers, sized for a 2-core machine)."""

import os

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


def child_exit(server, worker):
    # drop the metrics files of a worker that is gone (django-prometheus in multiprocess mode)
    multiprocess.mark_process_dead(worker.pid)
