import time

import jwt
import pytest
import urllib3
from django.conf import settings
from rest_framework_simplejwt.tokens import AccessToken

from gateway import proxy
from shared.clients import ServiceResponse
from shared.errors import UpstreamTimeout, UpstreamUnavailable


class FakeUpstream:
    """Stands in for a service: records what the gateway sent and answers with a prepared response."""

    def __init__(self, status=200, body=b'{"ok": true}', headers=None, error=None):
        self.sent = None
        self.status, self.body, self.headers, self.error = status, body, headers or {}, error

    def request(self, method, path, *, headers, body):
        if self.error:
            raise self.error
        self.sent = {"method": method, "path": path, "headers": headers, "data": body}
        headers = urllib3.HTTPHeaderDict({"Content-Type": "application/json", **self.headers})
        return ServiceResponse(self.status, headers, self.body)


@pytest.fixture
def upstream(monkeypatch):
    fake = FakeUpstream()
    monkeypatch.setattr(proxy, "client_for", lambda service: fake)
    return fake


def _token(**claims) -> str:
    token = AccessToken()
    token["user_id"] = "4242"
    token["is_staff"] = False
    for name, value in claims.items():
        token[name] = value
    return str(token)


def test_routes():
    assert proxy.service_for("/api/auth/login/") == "user"
    assert proxy.service_for("/api/users/me/") == "user"
    assert proxy.service_for("/api/products/1/") == "product"
    assert proxy.service_for("/api/orders/") == "order"


def test_forwards_identity_request_id_and_query_and_drops_spoofed_identity(client, upstream):
    response = client.get(
        "/api/orders/?a=1",
        HTTP_AUTHORIZATION=f"Bearer {_token()}",
        HTTP_X_USER_ID="1",
        HTTP_X_REQUEST_ID="rid-1",
    )
    assert response.status_code == 200
    sent = upstream.sent
    assert sent["path"] == "/api/orders/?a=1"
    assert sent["headers"]["X-User-ID"] == "4242"
    assert sent["headers"]["X-Request-ID"] == "rid-1"
    assert response["X-Request-ID"] == "rid-1"


def test_passes_status_and_error_body_through_unchanged(client, upstream):
    upstream.status, upstream.body = 409, b'{"error": {"code": "conflict", "message": "x"}}'
    response = client.post("/api/orders/", data=b"{}", content_type="application/json")
    assert response.status_code == 409
    assert response.json() == {"error": {"code": "conflict", "message": "x"}}


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        jwt.encode({"user_id": "1", "token_type": "access"}, None, algorithm="none"),
        jwt.encode({"user_id": "1", "token_type": "access", "exp": int(time.time()) + 60}, "k" * 40, algorithm="HS256"),
    ],
)
def test_bad_tokens_are_401_before_any_service_is_called(client, upstream, token):
    response = client.get("/api/orders/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert upstream.sent is None


def test_expired_and_wrong_audience_tokens_are_401(client, upstream):
    private = settings.SIMPLE_JWT["SIGNING_KEY"]
    claims = jwt.decode(_token(), options={"verify_signature": False})
    expired = jwt.encode({**claims, "exp": int(time.time()) - 100}, private, algorithm="RS256")
    other_audience = jwt.encode({**claims, "aud": "other"}, private, algorithm="RS256")
    for token in (expired, other_audience):
        assert client.get("/api/orders/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_malformed_json_is_400_at_the_gateway(client, upstream):
    response = client.post("/api/auth/login/", data=b"{nope", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert upstream.sent is None


def test_oversized_body_is_413(client, upstream, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    response = client.post("/api/auth/login/", data=b'{"x": "' + b"a" * 100 + b'"}', content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize(("error", "status"), [(UpstreamUnavailable("down"), 503), (UpstreamTimeout("slow"), 504)])
def test_upstream_down_or_slow_is_json(client, upstream, error, status):
    upstream.error = error
    response = client.get("/api/products/")
    assert response.status_code == status
    assert response.json()["error"]["message"] in ("down", "slow")


def test_unknown_route_is_json_404(client):
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
