import time

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


def test_a_write_is_pinned_and_pins_the_client():
    pinned, response = _run(RequestFactory().post("/x"))
    assert pinned
    assert float(response.cookies[pinning.COOKIE].value) > time.time()


def test_a_failed_write_does_not_pin_the_client():
    _, response = _run(RequestFactory().post("/x"), status=400)
    assert pinning.COOKIE not in response.cookies


def test_a_read_with_a_live_pin_goes_to_the_primary_and_an_expired_pin_does_not():
    factory = RequestFactory()
    factory.cookies[pinning.COOKIE] = str(time.time() + 3)
    assert _run(factory.get("/x"))[0] is True
    factory.cookies[pinning.COOKIE] = str(time.time() - 1)
    assert _run(factory.get("/x"))[0] is False
    factory.cookies[pinning.COOKIE] = "garbage"
    assert _run(factory.get("/x"))[0] is False
    assert pinning.is_pinned() is False
