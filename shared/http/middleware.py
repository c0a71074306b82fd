"""Middleware every Django process runs: request IDs, who served a response, JSON errors."""

from __future__ import annotations

import re
import socket
import uuid

from django.core.exceptions import RequestDataTooBig

from shared import deadline
from shared.http.errors import error_response
from shared.request_id import bind_request_id

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
HOSTNAME = socket.gethostname()


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
    """Turns errors raised before a view runs (e.g. an oversized body) into the one JSON error shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, RequestDataTooBig):
            return error_response(413, "payload_too_large", "The request body is too large.")
        return None
