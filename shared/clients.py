"""Calling another service over HTTP: pooled keep-alive connections, timeouts, retries of idempotent calls.

One `ServiceClient` per target service and process. Retries (urllib3's `Retry`) cover connection
failures and 502/503/504 answers for GET/HEAD/OPTIONS/PUT/DELETE only, with exponential backoff;
a POST is never sent twice by the client.
"""

from __future__ import annotations

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from shared.http.errors import UpstreamTimeout, UpstreamUnavailable
from shared.http.middleware import current_request_id

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def make_session(*, pool_size: int = 20, retries: int = 2) -> requests.Session:
    """A `requests.Session` with a keep-alive pool and retries of idempotent requests."""
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=0.1,
        backoff_jitter=0.05,
        status_forcelist=(502, 503, 504),
        allowed_methods=IDEMPOTENT_METHODS,
        raise_on_status=False,
        respect_retry_after_header=False,
    )
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=retry)
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class ServiceClient:
    """Calls one service by its compose name, e.g. `ServiceClient("product").get("/api/products/")`."""

    def __init__(self, service: str, *, session: requests.Session | None = None):
        self.service = service
        self.base_url = settings.SERVICE_URLS[service].rstrip("/")
        self.session = session or make_session()
        self.timeout = (settings.SERVICE_CONNECT_TIMEOUT, settings.SERVICE_READ_TIMEOUT)

    def request(self, method: str, path: str, *, headers: dict | None = None, **kwargs) -> requests.Response:
        """Send a request; a timeout raises `UpstreamTimeout` (504), any other failure `UpstreamUnavailable` (503)."""
        headers = {"X-Request-ID": current_request_id(), **(headers or {})}
        try:
            return self.session.request(method, self.base_url + path, headers=headers, timeout=self.timeout, **kwargs)
        except requests.exceptions.ReadTimeout as exc:
            raise UpstreamTimeout(f"The {self.service} service did not answer in time.") from exc
        except requests.RequestException as exc:
            raise UpstreamUnavailable(f"The {self.service} service did not answer.") from exc

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)
