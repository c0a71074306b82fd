"""Calling another service over HTTP, spread over every replica of it.

`docker compose up --scale product=3` gives the name `product` three addresses in Docker's DNS. A
plain keep-alive session would stick to the address it first connected to; `ServiceClient` instead
re-resolves the name every few seconds, keeps one keep-alive pool per replica (urllib3 pools by
address), sends each call to the replica with the fewest calls in flight, and leaves a replica that
refuses connections out for a few seconds, retrying the call on another one.

One retry layer, inside the request's time budget (`shared/deadline.py`): every attempt's timeouts
are cut to what is left of it, and the rest of the budget goes with the call (`X-Request-Budget-Ms`)
so the next hop stops when this one does. A refused connection is tried on another replica; an
idempotent call is sent once more (after 0.1 s) on a 502, 504 or a 503 without Retry-After (a 503
with it says when to come back: that is the client's to decide); a POST only when it never reached a
server. A call that timed out is never repeated: a slow server is not made faster by a second call,
and the budget is gone anyway.

It is urllib3 without `requests` on top: on the gateway's hot path `requests` cost more CPU than the
call itself (preparing the request, cookie jars, proxy settings from the environment), and urllib3
keeps no cookies, so nothing one caller received can leak into another caller's call.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import urllib3
from django.conf import settings
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from shared import deadline
from shared.errors import UpstreamTimeout, UpstreamUnavailable
from shared.request_id import current_request_id

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class ServiceResponse:
    """What another service answered: status, headers (multi-valued: `headers.getlist`), body."""

    status_code: int
    headers: urllib3.HTTPHeaderDict
    content: bytes

    def json(self):
        return json.loads(self.content)


RETRY_STATUSES = frozenset({502, 503, 504})
RETRY_PAUSE_SECONDS = 0.1


def _worth_retrying(answer: urllib3.BaseHTTPResponse) -> bool:
    return answer.status in RETRY_STATUSES and not (answer.status == 503 and "Retry-After" in answer.headers)


class Replicas:
    """The current addresses of one compose service, and how busy and healthy each one is."""

    def __init__(self, host: str, port: int, *, refresh_seconds: float = 2.0, down_seconds: float = 5.0):
        self.host, self.port = host, port
        self.refresh_seconds, self.down_seconds = refresh_seconds, down_seconds
        self._addresses: list[str] = []
        self._resolved_at = 0.0
        self._in_flight: dict[str, int] = {}
        self._down_until: dict[str, float] = {}
        self._turn = 0
        self._lock = threading.Lock()

    def _resolve(self) -> list[str]:
        now = time.monotonic()
        if now - self._resolved_at >= self.refresh_seconds or not self._addresses:
            try:
                infos = socket.getaddrinfo(self.host, self.port, socket.AF_INET, socket.SOCK_STREAM)
                self._addresses = sorted({info[4][0] for info in infos})
            except socket.gaierror:
                pass  # keep what we knew; with nothing known, the caller gets a 503
            self._resolved_at = now
        return self._addresses

    def pick(self, exclude: set[str]) -> str | None:
        """The healthy replica with the fewest calls in flight (ties taken in turn, round-robin)."""
        with self._lock:
            now = time.monotonic()
            candidates = [a for a in self._resolve() if a not in exclude and self._down_until.get(a, 0) <= now]
            if not candidates:
                candidates = [a for a in self._addresses if a not in exclude]  # all marked down: try anyway
            if not candidates:
                return None
            self._turn += 1
            rotated = candidates[self._turn % len(candidates) :] + candidates[: self._turn % len(candidates)]
            best = min(rotated, key=lambda a: self._in_flight.get(a, 0))
            self._in_flight[best] = self._in_flight.get(best, 0) + 1
            return best

    def release(self, address: str) -> None:
        with self._lock:
            self._in_flight[address] = max(0, self._in_flight.get(address, 1) - 1)

    def mark_down(self, address: str) -> None:
        with self._lock:
            self._down_until[address] = time.monotonic() + self.down_seconds
            self._resolved_at = 0.0  # look the name up again on the next call


def _never_reached_server(exc: HTTPError) -> bool:
    return isinstance(exc, (NewConnectionError, ConnectTimeoutError))


class ServiceClient:
    """Calls one service by its compose name, e.g. `ServiceClient("product").get("/api/products/")`."""

    def __init__(self, service: str, *, pool_size: int = 20, retries: int = 1):
        self.service = service
        url = urlsplit(settings.SERVICE_URLS[service])
        self.scheme, self.host, self.port = url.scheme, url.hostname, url.port or 80
        self.replicas = Replicas(self.host, self.port)
        self.pools = urllib3.PoolManager(num_pools=16, maxsize=pool_size)
        self.retries = retries

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict | None = None,
        params: dict | None = None,
        body: bytes | None = None,
    ) -> ServiceResponse:
        """Send a request to one replica, within the time budget: out of time, or a timeout, raises
        `UpstreamTimeout` (504); no replica reachable `UpstreamUnavailable` (503).

        `params` become the query string (appended to one `path` may already have)."""
        headers = {"X-Request-ID": current_request_id(), **(headers or {}), "Host": f"{self.host}:{self.port}"}
        if params:
            path = f"{path}{'&' if '?' in path else '?'}{urlencode(params)}"
        ends_at = time.monotonic() + deadline.remaining()
        tried: set[str] = set()
        retried = 0
        while True:
            left = ends_at - time.monotonic()
            if left <= 0:
                raise UpstreamTimeout(f"The {self.service} service did not answer in time.")
            address = self.replicas.pick(tried)
            if address is None:
                raise UpstreamUnavailable(f"The {self.service} service did not answer.")
            tried.add(address)
            try:
                answer = self.pools.request(
                    method,
                    f"{self.scheme}://{address}:{self.port}{path}",
                    headers={**headers, deadline.HEADER: str(int(left * 1000))},
                    body=body,
                    timeout=urllib3.Timeout(
                        connect=min(settings.SERVICE_CONNECT_TIMEOUT, left),
                        read=min(settings.SERVICE_READ_TIMEOUT, left),
                    ),
                    retries=False,
                    redirect=False,
                )
            except (NewConnectionError, ConnectTimeoutError, ReadTimeoutError, ProtocolError) as exc:
                if isinstance(exc, ReadTimeoutError):
                    raise UpstreamTimeout(f"The {self.service} service did not answer in time.") from exc
                self.replicas.mark_down(address)
                if not (_never_reached_server(exc) or method in IDEMPOTENT_METHODS):
                    raise UpstreamUnavailable(f"The {self.service} service dropped the request.") from exc
                if retried < self.retries:
                    # a kept-alive connection the replica closed as it was reused, or a replica that
                    # restarted: other replicas come first, else this one again on a new connection
                    # (with a single replica this answered 503 at once)
                    retried += 1
                    tried.discard(address)
                continue
            except HTTPError as exc:
                raise UpstreamUnavailable(f"The {self.service} service did not answer.") from exc
            finally:
                self.replicas.release(address)
            if method in IDEMPOTENT_METHODS and _worth_retrying(answer) and retried < self.retries:
                if ends_at - time.monotonic() > 2 * RETRY_PAUSE_SECONDS:
                    retried += 1
                    tried.clear()  # the same replica may answer now
                    time.sleep(RETRY_PAUSE_SECONDS)
                    continue
            return ServiceResponse(answer.status, answer.headers, answer.data)

    def get(self, path: str, **kwargs) -> ServiceResponse:
        return self.request("GET", path, **kwargs)
