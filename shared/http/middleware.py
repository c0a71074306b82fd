"""Middleware every Django process runs: request IDs, what a request cost, who served a response, JSON errors."""

from __future__ import annotations

import logging
import re
import socket
import time
import uuid

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponseNotAllowed
from prometheus_client import Counter, Histogram

from shared import deadline
from shared.db import statements
from shared.http.errors import application_error_response, as_application_error, error_response
from shared.request_id import bind_request_id

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
HOSTNAME = socket.gethostname()
logger = logging.getLogger(__name__)

SQL_STATEMENTS = Histogram(
    "django_request_sql_statements",
    "SQL statements run by one request",
    buckets=(0, 1, 2, 4, 8, 16, 32, 64, 128),
)
SQL_SECONDS = Histogram(
    "django_request_sql_seconds",
    "time one request spent in SQL statements",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
SLOW_REQUESTS = Counter("django_slow_requests_total", "requests slower than SLOW_REQUEST_MS, by route", ["route"])


class RequestIDMiddleware:
    """Takes `X-Request-ID` from the request (nginx makes one) or makes one; echoes it on the response.

    The ID is bound for the request (`shared/request_id.py`) so logs and outgoing calls (`clients.py`, events)
    carry it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        with bind_request_id(request_id):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class RequestCostMiddleware:
    """What each request cost: SQL statements and their time (histograms), and a log line and a count for a
    request slower than `SLOW_REQUEST_MS` (100 ms, seed 003's budget), with its route, query count and
    time in SQL; the log line carries the request ID (bound by RequestIDMiddleware, before this one)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        with statements.measure() as sql:
            response = self.get_response(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        SQL_STATEMENTS.observe(sql.statements)
        SQL_SECONDS.observe(sql.seconds)
        if elapsed_ms >= settings.SLOW_REQUEST_MS:
            match = getattr(request, "resolver_match", None)
            route = match.route if match else "unmatched"
            SLOW_REQUESTS.labels(route).inc()
            logger.warning(
                "slow request: %s %r (%s) %d in %.0f ms, %d SQL statements in %.0f ms",  # %r: a path is the client's
                request.method,
                request.path[:200],
                route,
                response.status_code,
                elapsed_ms,
                sql.statements,
                sql.seconds * 1000,
            )
        return response


class DeadlineMiddleware:
    """Binds the request's time budget (`shared/deadline.py`): what the caller said is left, or ours."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with deadline.bind_budget(deadline.budget_from_header(request.headers.get(deadline.HEADER))):
            return self.get_response(request)


class ServedByMiddleware:
    """Adds `X-Served-By: <container hostname>` so load spreading over replicas can be seen.

    A response that already names its server (one the gateway relays from a service) keeps it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "X-Served-By" not in response:
            response["X-Served-By"] = HOSTNAME
        return response


class JsonErrorMiddleware:
    """Turns errors raised before a view runs (e.g. an oversized body), or by a view that is not DRF's (an
    `ApplicationError` on the staff pages, Django's empty 405), into the one JSON error shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if isinstance(response, HttpResponseNotAllowed) and not response.content:
            # Django's `require_GET`/`require_http_methods` and the admin answer an empty 405
            allowed = response["Allow"]
            response = error_response(405, "method_not_allowed", f"This path takes {allowed} only.")
            response["Allow"] = allowed
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, RequestDataTooBig):
            return error_response(413, "payload_too_large", "The request body is too large.")
        error = as_application_error(exception)
        return None if error is None else application_error_response(error)
