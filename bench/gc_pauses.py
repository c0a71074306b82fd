"""What Python's garbage collector costs a web process's requests, with and without `gc.freeze()`.

Run inside a web container (`make bench-gc`): one process loads the service as gunicorn's workers do
(`config.wsgi`), optionally freezes what loading it made (`gc.freeze()`, as `shared/gunicorn_conf.py`
does before it forks the workers), starts a new catalog generation, then sends REQUESTS catalog pages
that miss every cache straight to the WSGI application (distinct category x ordering x page size),
and records every collection's pause by generation (`gc.callbacks`) and each request's time. Prints
one JSON line. The Makefile gives it a metrics directory of its own, so that its requests are not
counted in the service's metrics.

A full (generation 2) collection walks every object the process holds that is not frozen: about
104,000 after Django, DRF and the service are imported, and a few thousand more that 1,500 requests
leave (L1 entries, lazily built caches). Without the freeze one such pause was 76-158 ms in the product
image (2026-12-08), with every thread of the worker waiting on it; with it, 8-13 ms on average.
"""

from __future__ import annotations

import gc
import itertools
import json
import os
import statistics
import sys
import time

FREEZE = sys.argv[1] == "freeze"
REQUESTS = int(os.environ.get("BENCH_GC_REQUESTS", "1500"))

from django.test import RequestFactory  # noqa: E402

from config.wsgi import application  # noqa: E402 - loaded as gunicorn loads it, after the argument is read
from products import selectors  # noqa: E402
from products.caching import catalog_changed  # noqa: E402
from products.models import Category  # noqa: E402
from shared.db import shards  # noqa: E402

catalog_changed()  # a new catalog generation: no page of an earlier run (or of the other way) is cached

if FREEZE:
    gc.freeze()
pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
started: dict[str, float] = {}


def on_gc(phase: str, info: dict) -> None:
    if phase == "start":
        started["at"] = time.perf_counter()
    else:
        pauses[info["generation"]].append((time.perf_counter() - started["at"]) * 1000)


def request(path: str, query: dict) -> int:
    """One GET through the WSGI application, as gunicorn calls it (the environ of Django's RequestFactory)."""
    status = []
    body = application(factory.get(path, query).environ, lambda s, headers, exc_info=None: status.append(s))
    b"".join(body)
    body.close()
    return int(status[0].split()[0])


factory = RequestFactory()
categories = ("", *Category.objects.using(shards.primaries()[0]).values_list("slug", flat=True))  # a copy everywhere
combos = list(itertools.product(categories, selectors.ORDERINGS, range(10, 101)))
for warm in range(20):  # the first requests build lazy caches (URL resolver, serializers): not measured
    request("/api/products/", {"page_size": 10 + warm})
gc.callbacks.append(on_gc)
times, statuses = [], {}
for n in range(REQUESTS):
    category, ordering, size = combos[n % len(combos)]
    begin = time.perf_counter()
    code = request("/api/products/", {"category": category, "ordering": ordering, "page_size": size})
    times.append((time.perf_counter() - begin) * 1000)
    statuses[code] = statuses.get(code, 0) + 1
gc.callbacks.remove(on_gc)
times.sort()
print(
    json.dumps(
        {
            "freeze": FREEZE,
            "requests": REQUESTS,
            "status": statuses,
            "tracked_objects": len(gc.get_objects()),
            "frozen_objects": gc.get_freeze_count(),
            "p50_ms": round(statistics.median(times), 2),
            "p99_ms": round(times[int(len(times) * 0.99) - 1], 2),
            "max_ms": round(times[-1], 2),
            "collections": {
                f"gen{generation}": {
                    "count": len(values),
                    "mean_ms": round(statistics.fmean(values), 2) if values else 0,
                    "max_ms": round(max(values), 2) if values else 0,
                    "total_ms": round(sum(values), 1),
                }
                for generation, values in pauses.items()
            },
        }
    )
)
