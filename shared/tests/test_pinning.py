import time

import pytest
from django.core import signing
from django.http import HttpResponse
from django.test import RequestFactory

from shared.db import pinning


def _run(request, status=200):
    seen = {}

    def view(req):
        seen["pinned"] = pinning.is_pinned()
        return HttpResponse(status=status)

    response = pinning.PrimaryPinMiddleware(view)(request)
    return seen["pinned"], response


def _read_with_cookie(value: str) -> bool:
    factory = RequestFactory()
    factory.cookies[pinning.COOKIE] = value
    return _run(factory.get("/x"))[0]


def test_a_write_is_pinned_and_pins_the_client_with_a_signed_cookie(settings):
    # when
    pinned, response = _run(RequestFactory().post("/x"))
    # then
    assert pinned
    cookie = response.cookies[pinning.COOKIE]
    assert cookie["max-age"] == settings.PIN_SECONDS and cookie["httponly"]
    assert pinning.pinned_by_cookie(cookie.value)


def test_a_failed_write_does_not_pin_the_client():
    _, response = _run(RequestFactory().post("/x"), status=400)
    assert pinning.COOKIE not in response.cookies


def test_a_read_with_a_live_pin_goes_to_the_primary():
    assert _read_with_cookie(pinning.pin_cookie_value()) is True
    assert pinning.is_pinned() is False


def test_an_expired_pin_does_not_pin(settings):
    # given: a pin made PIN_SECONDS + 1 ago, so it ended a second ago
    value = pinning.pin_cookie_value(now=time.time() - settings.PIN_SECONDS - 1)
    # then
    assert _read_with_cookie(value) is False


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        str(time.time() + 3),  # the unsigned cookie of old: a client could write any time here
        signing.TimestampSigner(salt="another-salt").sign(str(int((time.time() + 3) * 1000))),
        signing.TimestampSigner(key="not-our-secret-key", salt="shared.db.pinning").sign(
            str(int((time.time() + 3) * 1000))
        ),
    ],
)
def test_a_pin_cookie_not_signed_by_us_is_ignored(value):
    assert _read_with_cookie(value) is False


def test_a_signed_pin_that_ends_beyond_pin_seconds_is_ignored(settings):
    # given: a pin signed now (e.g. while PIN_SECONDS was larger) that ends in an hour
    value = signing.TimestampSigner(salt="shared.db.pinning").sign(str(int((time.time() + 3600) * 1000)))
    # then
    assert pinning.pinned_by_cookie(value) is False
    assert _read_with_cookie(value) is False


def test_a_tampered_pin_is_ignored():
    value = pinning.pin_cookie_value()
    until, rest = value.split(":", 1)
    assert _read_with_cookie(f"{int(until) + 3_600_000}:{rest}") is False
