"""What a request costs in SQL, and the slow ones logged and counted (shared/db/statements.py and
RequestCostMiddleware): on the test database, through Django's own cursors."""

import logging

import pytest
from django.db import connections
from django.http import HttpResponse
from django.test import RequestFactory

from shared.db import statements
from shared.http.middleware import SLOW_REQUESTS, RequestCostMiddleware
from shared.log import RequestIDFilter
from shared.request_id import bind_request_id

pytestmark = pytest.mark.django_db(databases="__all__")


def _run(alias: str, *sql: str) -> None:
    with connections[alias].cursor() as cursor:
        for statement in sql:
            cursor.execute(statement)


def _alias() -> str:
    return next(alias for alias in connections if alias != "default")


def test_every_statement_of_the_work_in_hand_is_counted_and_timed():
    alias = _alias()
    _run(alias, "SELECT 1")  # the connection is open (and its wrapper installed) before measuring
    # when
    with statements.measure() as cost:
        _run(alias, "SELECT 1", "SELECT 2", "SELECT pg_sleep(0.01)")
    # then
    assert cost.statements == 3
    assert cost.seconds >= 0.01
    # and nothing outside the block is added to it
    _run(alias, "SELECT 3")
    assert cost.statements == 3


def test_a_slow_statement_is_logged_and_counted_with_its_alias(settings, caplog):
    alias = _alias()
    settings.SLOW_STATEMENT_MS = 5
    before = statements.SLOW_STATEMENTS.labels(alias)._value.get()
    # when
    with caplog.at_level(logging.WARNING, logger="shared.db.statements"):
        _run(alias, "SELECT pg_sleep(0.02)", "SELECT 1")
    # then: the sleep only
    assert statements.SLOW_STATEMENTS.labels(alias)._value.get() == before + 1
    [line] = [r.getMessage() for r in caplog.records if "slow statement" in r.getMessage()]
    assert alias in line and "pg_sleep(0.02)" in line


def test_a_slow_request_is_logged_with_its_request_id_statements_and_time_in_sql(settings, caplog):
    alias = _alias()
    settings.SLOW_REQUEST_MS = 0

    def view(request):
        _run(alias, "SELECT 1", "SELECT 2")
        return HttpResponse(status=204)

    request = RequestFactory().get("/api/things/")
    before = SLOW_REQUESTS.labels("unmatched")._value.get()
    caplog.handler.addFilter(RequestIDFilter())  # as the console handler of the LOGGING setting does
    # when
    with caplog.at_level(logging.WARNING, logger="shared.http.middleware"), bind_request_id("rid-cost-1"):
        response = RequestCostMiddleware(view)(request)
    # then
    assert response.status_code == 204
    assert SLOW_REQUESTS.labels("unmatched")._value.get() == before + 1
    [record] = [r for r in caplog.records if "slow request" in r.getMessage()]
    assert "GET '/api/things/'" in record.getMessage() and "2 SQL statements" in record.getMessage()
    assert record.request_id == "rid-cost-1"


def test_a_quick_request_is_not_logged(settings, caplog):
    settings.SLOW_REQUEST_MS = 10_000
    with caplog.at_level(logging.WARNING, logger="shared.http.middleware"):
        RequestCostMiddleware(lambda request: HttpResponse())(RequestFactory().get("/"))
    assert not [r for r in caplog.records if "slow request" in r.getMessage()]
