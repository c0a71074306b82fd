"""`make bench-catalog-miss`: CPU per tier for a catalog page that misses every cache layer.

A quick A/B for changes to the catalog's hot path (the serializer, the database adapters, the cache
layers), on whatever data the stack holds: 400 distinct pages (category x ordering x page size of
20-100, a run id in the query so the edge misses too) at 10 requests/s through nginx, after a new
catalog generation (so no page of an earlier run is read from L1 or L2). CPU per request per tier is
what each tier used minus its rate at rest (`measure.measured`). It refuses to report when a page was
not a miss at the edge or a response was not 200. Run it three times before and three after a change:
one run's figure moves by a tenth on this machine.
"""

from __future__ import annotations

import itertools
import json
import random
import sys

import stack
from fixtures import BASE, log
from load import open_loop
from measure import idle_rates, measured
from reads import CATEGORIES, ORDERINGS

REQUESTS, RATE = 400, 10.0


def main() -> int:
    new_generation = "from products.caching import catalog_changed; catalog_changed()"
    stack.compose("exec", "-T", "product", "python", "manage.py", "shell", "-c", new_generation)
    pages = list(itertools.product(CATEGORIES, ORDERINGS, range(20, 101)))
    random.shuffle(pages)
    run_id = random.randint(0, 10**9)

    def page(pool, n: int):
        category, ordering, size = pages[n]
        query = f"category={category}&ordering={ordering}&page_size={size}&run={run_id}-{n}"
        return pool.request("GET", f"{BASE}/api/products/?{query}")

    log(f"measuring the stack at rest, then {REQUESTS} catalog pages that miss every cache at {RATE}/s")
    result = measured(lambda: open_loop(page, rate=RATE, seconds=int(REQUESTS / RATE)), idle=idle_rates())
    problems = []
    if set(result["status"]) != {"200"}:
        problems.append(f"not every response was 200: {result['status']}")
    if result["cache"].get("MISS", 0) != result["requests"]:
        problems.append(f"not every page missed the edge cache: {result['cache']}")
    print(json.dumps(result, indent=1))
    if problems:
        print("INVALID: " + "; ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
