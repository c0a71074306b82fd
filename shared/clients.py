"""Calling another service over HTTP, spread over every replica of it.

`docker compose up --scale product=3` gives the name `product` three addresses in Docker's DNS. A
plain keep-alive session would stick to the address it first connected to; `ServiceClient` instead
re-resolves the name every few seconds, keeps one keep-alive pool per replica (urllib3 pools by
address), sends each call to the replica with the fewest calls in flight, and leaves a replica that
refuses connections out for a few seconds, retrying the call on another one.

Retries (urllib3's `Retry`) also cover 502/503/504 answers and broken connections for idempotent
methods only, with exponential backoff; a POST is only re-sent when it never reached a server.
"""

from __future__ import annotations

import socket
import threading
import time
from http.cookiejar import CookiePolicy
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.retry import Retry

from shared.errors import UpstreamTimeout, UpstreamUnavailable
from shared.request_id import current_request_id

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class NoCookies(CookiePolicy):
    """A service-to-service session is shared by every caller: it must never keep a cookie.

    (A kept `Set-Cookie` would be sent along with every later call, whoever makes it.)
    """

    netscape = True
    rfc2965 = hide_cookie2 = False

    def set_ok(self, cookie, request):
        return False

    def return_ok(self, cookie, request):
        return False

    def domain_return_ok(self, domain, request):
        return False

    def path_return_ok(self, path, request):
        return False


def make_session(*, pool_size: int = 20, retries: int = 2) -> requests.Session:
    """A `requests.Session` with keep-alive pools, retries of idempotent requests and no cookie jar."""
    retry = Retry(
        total=retries,
        connect=0,  # a refused connection is retried on another replica by ServiceClient
        read=retries,
        status=retries,
        backoff_factor=0.1,
        backoff_jitter=0.05,
        status_forcelist=(502, 503, 504),
        allowed_methods=IDEMPOTENT_METHODS,
        raise_on_status=False,
        respect_retry_after_header=False,
    )
    adapter = HTTPAdapter(pool_connections=16, pool_maxsize=pool_size, max_retries=retry)
    session = requests.Session()
    session.cookies.set_policy(NoCookies())
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


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


def _never_reached_server(exc: requests.ConnectionError) -> bool:
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    return isinstance(exc, requests.ConnectTimeout) or isinstance(reason, (NewConnectionError, ConnectTimeoutError))


class ServiceClient:
    """Calls one service by its compose name, e.g. `ServiceClient("product").get("/api/products/")`."""

    def __init__(self, service: str, *, session: requests.Session | None = None):
        self.service = service
        url = urlsplit(settings.SERVICE_URLS[service])
        self.scheme, self.host, self.port = url.scheme, url.hostname, url.port or 80
        self.replicas = Replicas(self.host, self.port)
        self.session = session or make_session()
        self.timeout = (settings.SERVICE_CONNECT_TIMEOUT, settings.SERVICE_READ_TIMEOUT)

    def request(self, method: str, path: str, *, headers: dict | None = None, **kwargs) -> requests.Response:
        """Send a request to one replica; a timeout raises `UpstreamTimeout` (504), no replica `UpstreamUnavailable`."""
        headers = {"X-Request-ID": current_request_id(), **(headers or {}), "Host": f"{self.host}:{self.port}"}
        tried: set[str] = set()
        while True:
            address = self.replicas.pick(tried)
            if address is None:
                raise UpstreamUnavailable(f"The {self.service} service did not answer.")
            tried.add(address)
            try:
                return self.session.request(
                    method,
                    f"{self.scheme}://{address}:{self.port}{path}",
                    headers=headers,
                    timeout=self.timeout,
                    **kwargs,
                )
            except requests.exceptions.ReadTimeout as exc:
                raise UpstreamTimeout(f"The {self.service} service did not answer in time.") from exc
            except requests.ConnectionError as exc:
                self.replicas.mark_down(address)
                if not (_never_reached_server(exc) or method in IDEMPOTENT_METHODS):
                    raise UpstreamUnavailable(f"The {self.service} service dropped the request.") from exc
            except requests.RequestException as exc:
                raise UpstreamUnavailable(f"The {self.service} service did not answer.") from exc
            finally:
                self.replicas.release(address)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)
