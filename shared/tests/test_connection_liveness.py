"""The per-request health check of a persistent connection sends no statement, and still finds a
connection that the server closed."""

import time

import pytest
from django.db import connections

from shared.db.backend.liveness import looks_alive

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


@pytest.fixture
def connection(monkeypatch):
    connection = connections["db0"]
    monkeypatch.setitem(connection.settings_dict, "CONN_HEALTH_CHECKS", True)
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)  # persistent, as in the services
    connection.close()
    connection.ensure_connection()
    connection.health_check_enabled = True
    yield connection
    connection.close()


def _backend_pid(connection) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        pid, ssl = cursor.fetchone()
    assert not ssl  # as the services' connections to PgBouncer
    return pid


def _last_statement_of(pid: int) -> str:
    with connections["db1"].cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0]


def _new_request(connection) -> None:
    """What Django does at a request's start and its first query's: the check is due, then made."""
    connection.close_if_unusable_or_obsolete()
    assert connection.health_check_done is False
    connection.close_if_health_check_failed()


def test_a_healthy_connection_passes_without_a_statement_reaching_the_server(connection):
    raw = connection.connection
    pid = _backend_pid(connection)
    before = _last_statement_of(pid)
    _new_request(connection)
    assert connection.connection is raw and connection.health_check_done
    assert _last_statement_of(pid) == before  # no SELECT 1 (a query sent would replace it)


def test_a_connection_the_server_closed_is_found_and_replaced(connection):
    pid = _backend_pid(connection)
    with connections["db1"].cursor() as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    # The server sends its FATAL message, leaves pg_stat_activity, and only then exits and closes the
    # socket: the end of file reaches the client a moment later (CI once checked in between), so the
    # check is asked until the close has arrived, within a bound it never needs.
    deadline = time.monotonic() + 5
    while looks_alive(connection.connection) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not looks_alive(connection.connection)
    _new_request(connection)
    assert connection.connection is None  # closed by the check, so the next query connects anew
    assert _backend_pid(connection) != pid


def test_a_connection_inside_a_transaction_is_not_taken_for_idle(connection):
    raw = connection.connection
    with raw.cursor() as cursor:
        cursor.execute("BEGIN")
        assert not looks_alive(raw)
        cursor.execute("ROLLBACK")
    assert looks_alive(raw)
