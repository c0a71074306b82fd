"""Forwarding a public request to the service that owns its path.

The gateway checks the bearer token first (services check it again), forwards identity and the
request ID, and passes the service's status, body, headers and cookies back unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import AccessToken

from gateway import paths, routing
from shared.clients import ServiceClient
from shared.errors import ApplicationError, NotFound
from shared.http import parsers

# Headers that describe one hop, not the message; never forwarded in either direction.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "content-encoding",
        "set-cookie",
    }
)
# Headers only the gateway may set (identity, and the request ID it has checked).
GATEWAY_HEADERS = frozenset({"x-user-id", "x-user-is-staff", "x-request-id", "x-forwarded-host"})


class InvalidToken(ApplicationError):
    status_code = 401
    code = "not_authenticated"


class MalformedBody(ApplicationError):
    code = "malformed_json"


@dataclass(frozen=True)
class Identity:
    user_id: str
    is_staff: bool


def service_for(path: str) -> str:
    for prefix, service in routing.routes.table():
        if path.startswith(prefix):
            return service
    raise NotFound(f"No route for {path}.")


@cache
def client_for(service: str) -> ServiceClient:
    """One client, with its own keep-alive pool, per service and process."""
    return ServiceClient(service, pool_size=settings.GATEWAY_POOL_SIZE)


def identity_from(request: HttpRequest) -> Identity | None:
    """Verify the bearer token (signature, expiry, `aud`, `iss`, RS256 only); None when there is none."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise InvalidToken("Use 'Authorization: Bearer <access token>'.")
    try:
        token = AccessToken(raw.strip())
    except TokenError as exc:
        raise InvalidToken("The access token is invalid or expired.") from exc
    return Identity(user_id=str(token[jwt_settings.USER_ID_CLAIM]), is_staff=bool(token.get("is_staff")))


def check_json_body(request: HttpRequest) -> bytes:
    """The request body; a JSON body that does not parse is refused here, before any service sees it."""
    body = request.body
    if body and request.content_type == "application/json":
        try:
            parsers.json_loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedBody(f"The body is not valid JSON: {exc}") from exc
    return body


def forward(request: HttpRequest) -> HttpResponse:
    paths.check_path(request)
    service = service_for(request.path)
    identity = identity_from(request)
    body = check_json_body(request)

    headers = {
        name: value
        for name, value in request.headers.items()
        if name.lower() not in HOP_BY_HOP and name.lower() not in GATEWAY_HEADERS
    }
    headers["X-Request-ID"] = request.request_id
    if identity:
        headers["X-User-ID"] = identity.user_id
        headers["X-User-Is-Staff"] = "1" if identity.is_staff else "0"
    headers["X-Forwarded-For"] = request.META.get("HTTP_X_FORWARDED_FOR") or request.META.get("REMOTE_ADDR", "")
    # the host and port the client asked for, as the edge reports it (the gateway is reached only by the
    # edge): pages with forms check a POST's Origin against it
    headers["X-Forwarded-Host"] = request.META.get("HTTP_X_FORWARDED_HOST") or request.META.get("HTTP_HOST", "")

    upstream = client_for(service).request(request.method, request.get_full_path(), headers=headers, body=body or None)
    response = HttpResponse(upstream.content, status=upstream.status_code)
    for name, value in upstream.headers.items():
        if name.lower() not in HOP_BY_HOP:
            response[name] = value
    for set_cookie in upstream.headers.getlist("Set-Cookie"):
        response.cookies.load(set_cookie)
    return response
