"""Calls to other services: one retry layer, inside the request's time budget, which goes with the call."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shared import deadline
from shared.clients import ServiceClient
from shared.errors import UpstreamTimeout, UpstreamUnavailable


@pytest.fixture
def upstream(settings):
    """A local service answering from a script: each request takes the next (status, delay, headers)."""
    seen: list[dict] = []
    script: list[tuple[int, float, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            seen.append({"method": self.command, "budget": self.headers.get(deadline.HEADER)})
            status, delay, headers = script.pop(0) if script else (200, 0.0, {})
            time.sleep(delay)
            if status == 0:  # the connection is closed without an answer, as a replica dropping it
                self.close_connection = True
                return
            self.send_response(status)
            for name, value in {**headers, "Content-Length": "2"}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(b"{}")

        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.SERVICE_URLS = {"svc": f"http://127.0.0.1:{server.server_port}"}
    settings.REQUEST_BUDGET_SECONDS = 8.0
    yield ServiceClient("svc"), script, seen
    server.shutdown()


def test_a_slow_answer_ends_with_the_budget_and_is_never_sent_again(upstream):
    client, script, seen = upstream
    script.append((200, 3.0, {}))
    started = time.monotonic()
    with deadline.bind_budget(0.5), pytest.raises(UpstreamTimeout):
        client.get("/slow/")
    assert time.monotonic() - started < 1.5
    assert len(seen) == 1
    assert 0 < int(seen[0]["budget"]) <= 500  # what was left went with the call


def test_an_idempotent_call_is_retried_once_on_a_bad_gateway_and_a_post_is_not(upstream):
    client, script, seen = upstream
    script += [(502, 0, {}), (200, 0, {})]
    assert client.get("/").status_code == 200 and len(seen) == 2
    script += [(502, 0, {}), (502, 0, {}), (502, 0, {})]
    assert client.get("/").status_code == 502 and len(seen) == 4  # one retry, not more
    script.clear()
    script.append((502, 0, {}))
    assert client.request("POST", "/").status_code == 502 and len(seen) == 5


def test_a_dropped_connection_is_retried_once_on_the_only_replica_for_a_get_not_a_post(upstream):
    client, script, seen = upstream
    script += [(0, 0, {}), (200, 0, {})]
    assert client.get("/").status_code == 200 and len(seen) == 2
    script += [(0, 0, {}), (0, 0, {})]
    with pytest.raises(UpstreamUnavailable):
        client.get("/")
    assert len(seen) == 4  # one retry, not more
    script.append((0, 0, {}))
    with pytest.raises(UpstreamUnavailable):
        client.request("POST", "/")
    assert len(seen) == 5


def test_a_503_that_says_when_to_come_back_is_passed_on_not_retried(upstream):
    client, script, seen = upstream
    script.append((503, 0, {"Retry-After": "2"}))
    answer = client.get("/")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "2" and len(seen) == 1


def test_out_of_budget_means_no_call_at_all(upstream):
    client, _, seen = upstream
    with deadline.bind_budget(-1), pytest.raises(UpstreamTimeout):
        client.get("/")
    assert seen == []


def test_a_callers_budget_is_taken_but_never_more_than_ours(settings):
    settings.REQUEST_BUDGET_SECONDS = 8.0
    assert deadline.budget_from_header("1500") == 1.5
    assert deadline.budget_from_header("999999") == 8.0
    assert deadline.budget_from_header("-5") == deadline.budget_from_header("１２") == 8.0  # not ASCII digits
    assert deadline.budget_from_header(None) == 8.0
