"""Middleware every Django process runs: request IDs, who served a response, JSON errors."""

from __future__ import annotations

import re
import socket
import uuid
from contextvars import ContextVar

from django.core.exceptions import RequestDataTooBig

from shared.http.errors import error_response

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
HOSTNAME = socket.gethostname()


def current_request_id() -> str:
    return request_id_var.get()


class RequestIDMiddleware:
    """Takes `X-Request-ID` from the request (nginx makes one) or makes one; echoes it on the response.

    The ID is kept in a context variable so logs and outgoing calls (`clients.py`, events) carry it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


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
