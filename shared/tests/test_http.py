import json

from rest_framework import exceptions

from shared.errors import ApplicationError, Conflict
from shared.http.errors import exception_handler


def test_application_error_has_the_one_shape():
    response = exception_handler(Conflict("Busy.", code="busy"), {})
    assert response.status_code == 409
    assert response.data == {"error": {"code": "busy", "message": "Busy."}}


def test_validation_error_lists_fields():
    response = exception_handler(exceptions.ValidationError({"email": ["Bad."]}), {})
    assert response.status_code == 400
    assert response.data["error"]["code"] == "validation_error"
    assert response.data["error"]["fields"] == {"email": ["Bad."]}


def test_parse_error_is_malformed_request_and_unknown_errors_are_left_to_the_500_handler():
    assert exception_handler(exceptions.ParseError(), {}).data["error"]["code"] == "malformed_request"
    assert exception_handler(exceptions.NotAuthenticated(), {}).status_code == 401
    assert exception_handler(RuntimeError("bug"), {}) is None
    assert ApplicationError("x").status_code == 400


def test_service_calls_keep_no_cookies(settings):
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from shared.clients import ServiceClient

    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.headers.get("Cookie"))
            self.send_response(200)
            self.send_header("Set-Cookie", "primary_pin=123; Path=/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.SERVICE_URLS = {"echo": f"http://127.0.0.1:{server.server_port}"}
    try:
        client = ServiceClient("echo")
        answers = [client.get("/") for _ in range(2)]
    finally:
        server.shutdown()
    assert answers[0].headers.getlist("Set-Cookie") == ["primary_pin=123; Path=/"]
    assert seen == [None, None]  # the cookie one caller got is never sent for the next


def test_a_method_a_path_does_not_have_is_405_with_allow_before_any_authentication():
    from rest_framework.permissions import IsAuthenticated
    from rest_framework.response import Response
    from rest_framework.test import APIRequestFactory

    from shared.http.views import APIView

    class OnlyGet(APIView):
        permission_classes = [IsAuthenticated]

        def get(self, request):
            return Response({})

    view = OnlyGet.as_view()
    put = view(APIRequestFactory().put("/thing/", {}, format="json"))
    get = view(APIRequestFactory().get("/thing/"))
    assert put.status_code == 405 and "GET" in put["Allow"] and "PUT" not in put["Allow"]
    assert get.status_code in (401, 403)  # a method it has: the permissions decide


def test_djangos_empty_405_becomes_the_one_error_shape():
    from django.http import HttpResponse
    from django.test import RequestFactory
    from django.views.decorators.http import require_GET

    from shared.http.middleware import JsonErrorMiddleware

    @require_GET
    def page(request):
        return HttpResponse("ok")

    middleware = JsonErrorMiddleware(page)
    refused = middleware(RequestFactory().post("/ops/"))
    assert refused.status_code == 405 and refused["Allow"] == "GET"
    assert json.loads(refused.content)["error"]["code"] == "method_not_allowed"
    assert middleware(RequestFactory().get("/ops/")).content == b"ok"


def _unreachable_server_error():
    """What Django raises when PgBouncer cannot reach the server (psycopg's error is the cause)."""
    import psycopg
    from django.db import OperationalError

    try:
        raise OperationalError("pgbouncer cannot connect to server") from psycopg.errors.ProtocolViolation("x")
    except OperationalError as exc:
        return exc


def test_a_database_server_that_cannot_be_reached_is_503_with_retry_after_in_views_and_middleware():
    from django.db import DataError
    from django.test import RequestFactory

    from shared.http.middleware import JsonErrorMiddleware

    unreachable = _unreachable_server_error()
    answered = exception_handler(unreachable, {})
    assert answered.status_code == 503 and answered["Retry-After"] == "5"
    assert answered.data["error"]["code"] == "database_unavailable"

    middleware = JsonErrorMiddleware(lambda request: None)
    page = middleware.process_exception(RequestFactory().post("/ops/"), unreachable)
    assert page.status_code == 503 and page["Retry-After"] == "5"
    assert json.loads(page.content)["error"]["code"] == "database_unavailable"
    # a query the server refused is the query's own error, never "unavailable"
    assert exception_handler(DataError("integer out of range"), {}) is None


def test_a_statement_its_server_cancelled_is_503_with_retry_after_in_views_and_middleware():
    import psycopg
    from django.db import OperationalError
    from django.test import RequestFactory

    from shared.http.middleware import JsonErrorMiddleware

    try:
        raise OperationalError("canceling statement due to statement timeout") from psycopg.errors.QueryCanceled("x")
    except OperationalError as exc:
        timed_out = exc
    answered = exception_handler(timed_out, {})
    assert answered.status_code == 503 and answered["Retry-After"] == "5"
    assert answered.data["error"]["code"] == "database_timeout"
    page = JsonErrorMiddleware(lambda request: None).process_exception(RequestFactory().get("/ops/"), timed_out)
    assert page.status_code == 503 and json.loads(page.content)["error"]["code"] == "database_timeout"
