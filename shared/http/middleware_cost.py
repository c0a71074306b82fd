"""What each middleware of a service costs on every request (seed 003: every middleware runs on every
request, so keep only those a service uses).

    docker compose exec user python -m shared.http.middleware_cost [--requests 3000]

Runs the service's own MIDDLEWARE chain in process around a view that answers a typical 2 KB JSON body
(no database, no network), and prints the microseconds per request of the whole chain, of no middleware,
and what leaving out each one saves: each pair of chains timed in alternating rounds, the best round of
each, since this machine is shared.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.handlers.base import BaseHandler  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import RequestFactory, override_settings  # noqa: E402
from django.urls import path  # noqa: E402

ITEM = b'{"id": "1234567890123", "name": "A product name", "price": "12.50"}'
BODY = b'{"results": [' + b",".join([ITEM] * 30) + b"]}"


def typical_answer(request):
    return HttpResponse(BODY, content_type="application/json")


urlpatterns = [path("api/typical/", typical_answer)]


class Chain:
    """A service's handler with a given middleware list, timed on `requests` requests at a time."""

    def __init__(self, middleware: list[str]):
        with override_settings(MIDDLEWARE=middleware):
            self.handler = BaseHandler()
            self.handler.load_middleware()
        self.factory = RequestFactory()

    def seconds(self, requests: int) -> float:
        with override_settings(ROOT_URLCONF=__name__):
            started = time.perf_counter()
            for _ in range(requests):
                response = self.handler.get_response(self.factory.get("/api/typical/"))
                response.close()
            elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise ChainFails(response.status_code)
        return elapsed


class ChainFails(Exception):
    pass


def compare(a: Chain, b: Chain, requests: int, rounds: int) -> tuple[float, float]:
    """Microseconds per request of `a` and of `b`, timed in alternation (the best round of each), so that
    a change in the machine's load between the two does not show as a difference."""
    best_a = best_b = float("inf")
    for _ in range(rounds):
        best_a = min(best_a, a.seconds(requests))
        best_b = min(best_b, b.seconds(requests))
    return best_a / requests * 1e6, best_b / requests * 1e6


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    logging.getLogger("django.request").setLevel(logging.CRITICAL)  # a chain that fails says so below
    logging.getLogger("shared.http.middleware").setLevel(logging.ERROR)  # no slow-request lines
    middleware = list(settings.MIDDLEWARE)
    whole = Chain(middleware)
    with_all, with_none = compare(whole, Chain([]), args.requests, args.rounds)
    print(f"{settings.SERVICE_NAME}: {len(middleware)} middleware {with_all:.1f} us/request, none {with_none:.1f}")
    for name in middleware:
        try:
            with_it, without = compare(whole, Chain([m for m in middleware if m != name]), args.requests, args.rounds)
        except ChainFails:
            print(f"  {'-':>7}     {name} (a later middleware needs it)")
            continue
        print(f"  {with_it - without:7.1f} us  {name}")


if __name__ == "__main__":
    main(sys.argv[1:])
