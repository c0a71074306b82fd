"""The one error shape of the platform and everything that produces it.

    {"error": {"code": "validation_error", "message": "...", "fields": {...}}}

Services raise the application errors of `shared.errors` (or DRF's exceptions); `exception_handler` is
DRF's EXCEPTION_HANDLER; `handler404`/`handler500`/`handler400` replace Django's HTML error pages.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response

from shared.db.failures import is_connection_error, is_statement_timeout
from shared.errors import ApplicationError, DatabaseTimeout, DatabaseUnavailable

logger = logging.getLogger(__name__)


def error_body(code: str, message: str, fields=None) -> dict:
    error = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def error_response(status_code: int, code: str, message: str, fields=None) -> JsonResponse:
    """A plain Django JSON response in the error shape (for code outside DRF: middleware, gateway)."""
    return JsonResponse(error_body(code, message, fields), status=status_code)


_DRF_CODES = {
    exceptions.ParseError: "malformed_request",
    exceptions.AuthenticationFailed: "not_authenticated",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ValidationError: "validation_error",
}


def as_application_error(exc: BaseException) -> ApplicationError | None:
    """The application error `exc` is, or stands for; None for a bug.

    A connection to a database server that failed (its primary down, or being replaced by its standby)
    is a 503 with Retry-After, not a 500: nothing is half-written and the request can be sent again
    (see DatabaseUnavailable for a connection lost during COMMIT). A statement the server cancelled (its
    statement timeout) is a 503 too: it and its transaction were rolled back."""
    if isinstance(exc, ApplicationError):
        return exc
    if is_connection_error(exc):
        logger.warning("database server unreachable: %s", _first_line(exc))
        return DatabaseUnavailable()
    if is_statement_timeout(exc):
        logger.error("statement cancelled: %s", _first_line(exc))
        return DatabaseTimeout()
    return None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [repr(exc)])[0]


def application_error_response(error: ApplicationError, response_class=JsonResponse):
    response = response_class(error_body(error.code, error.message, error.fields), status=error.status_code)
    if error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    return response


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every exception a view raises becomes the one error shape."""
    error = as_application_error(exc)
    if error is not None:
        return application_error_response(error, Response)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django logs it and handler500 answers in the error shape
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), exc.default_code)
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response = Response(error_body(code, "The request is invalid.", fields), status=exc.status_code)
    else:
        response = Response(error_body(code, str(exc.detail)), status=exc.status_code)
    if getattr(exc, "auth_header", None):
        response["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        response["Retry-After"] = str(int(exc.wait))
    return response


def handler400(request, exception=None):
    return error_response(400, "bad_request", "The request could not be understood.")


def handler403(request, exception=None):
    return error_response(403, "permission_denied", "You do not have permission to do this.")


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: a form posted without its token, or from another site (pages with forms)."""
    return error_response(403, "csrf_failed", f"The form's CSRF check failed: {reason}. Reload the page and try again.")


def handler404(request, exception=None):
    return error_response(404, "not_found", f"No route for {request.path}.")


def handler500(request):
    return error_response(500, "server_error", "Something went wrong on our side.")
