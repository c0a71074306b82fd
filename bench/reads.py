"""The public reads at one data size, for `make bench-sizes`: what a read costs must not grow with the data.

Eight reads, each sent open-loop at a moderate fixed rate through nginx (`load.open_loop`: latency
from the moment each request was due), with CPU per request per tier and SQL statements per request
(`measure.measured`):

- first_page: the first catalog page in one of the 6 orderings;
- deep_page: a page 100 pages of 100 into an ordering, by a cursor taken before the run (walked
  page by page, as a client does; at the small size as deep as leaves a full page after it);
- search: a product name fragment (`<noun> <number>`, the trigram index);
- search_common: one of the 12 nouns alone, which about 1 product in 12 has in its name (the
  frequent term: the index finds many rows, and a page must still cost one page);
- category_ordering: a category's first page in one of the orderings;
- product: one product by ID;
- user_orders: a user's orders, first page (the bench's own user, with 30 orders, at both sizes);
- login: by e-mail (the bench's user at the small size, distinct seeded users at the large one);
  its cost is mostly the password hash (Argon2id at OWASP's parameters), the same at any size.

Every request of a read is a URL (or a body) that nothing has cached: the page sizes, orderings,
categories and cursors are combined so that no two requests of a run, and no request of an earlier
run, share a cache key (the catalog's cache generation changes when the bench changes its product),
and a run id keeps the edge's keys new. Preconditions, checked per read: no errors, no edge-cache
hit, the generator kept its schedule, and the reads reached the database (at least one SQL statement
per request on average, from PgBouncer).

One run's p99 on this 2-core machine is as much its noise as the read's (one stall of the machine
is the 4th slowest request of 400), so the eight reads are measured in ROUNDS rounds, one read after
the other in each, with a new catalog cache generation and a disjoint share of the product IDs per
round. A read's figures are the median of its rounds' percentiles and the mean of their costs, with
each round's p99 beside them; every round is held to the preconditions.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import checks
import fixtures
import requests
from fixtures import BASE, Fixtures, log
from load import open_loop
from measure import measured

ORDERINGS = ("-created", "created", "price", "-price", "name", "-name")
CATEGORIES = ("books", "electronics", "garden", "kitchen", "music", "outdoors", "toys", "tools")
NOUNS = ("lamp", "kettle", "drill", "novel", "speaker", "tent", "puzzle", "rake", "guitar", "blender", "jacket", "mug")
RATE = float(os.environ.get("BENCH_READ_RATE", "20"))
SECONDS = int(os.environ.get("BENCH_READ_SECONDS", "20"))  # 400 requests a read: p99 is the 4th slowest
DEEP_PAGES = int(os.environ.get("BENCH_DEEP_PAGES", "100"))  # 10,000 rows into an ordering
# 200 logins (p99 is the 2nd slowest; with the 40 of a 2/s, 20 s run it was the slowest, one stall's
# worth): about 35 ms of CPU each for the password hash, so 4 a second keep a core a seventh busy
LOGIN_RATE = float(os.environ.get("BENCH_LOGIN_RATE", "4"))
LOGIN_SECONDS = int(os.environ.get("BENCH_LOGIN_SECONDS", "50"))
ROUNDS = int(os.environ.get("BENCH_READ_ROUNDS", "3"))  # each read's figures: the median of its rounds


@dataclass
class ReadFixtures:
    user_token: str
    logins: list[tuple[str, str]]
    deep_cursors: list[tuple[str, str]] = field(default_factory=list)  # (category or "", cursor)
    product_ids: list[str] = field(default_factory=list)
    bench_product_id: str = ""  # changed between rounds: a new catalog cache generation


def _get(path: str, **params) -> dict:
    response = requests.get(f"{BASE}{path}", params=params, timeout=60)
    response.raise_for_status()
    return response.json()


def _walk(ordering: str, category: str) -> tuple[dict, tuple[str, str] | None]:
    """The first page of an ordering (and category), and the cursor DEEP_PAGES pages of 100 into it,
    walked page by page as a client does (not the page-number path, whose per-server reads of up to
    page x size keys are not one of the measured reads, and would weigh on the memory measured after)."""
    first = page = _get("/api/products/", ordering=ordering, category=category, page_size=100)
    # at the small size as deep as it goes with a full page of 100 left after the cursor: a deep page
    # must return as many rows at both sizes (a list too short for that has no deep cursor)
    steps = min(DEEP_PAGES, first["count"] // 100 - 2)
    if steps < 1:
        return first, None
    for _ in range(steps):
        if not page["next"]:
            return first, None
        page = _get("/api/products/", ordering=ordering, category=category, page_size=100, cursor=page["next"])
    return first, (category, page["next"]) if page["next"] else None


def prepare(fx: Fixtures, *, logins: list[tuple[str, str]], orders: int = 30) -> ReadFixtures:
    """Cursors deep into every ordering and category, product IDs, and `orders` more orders of the user."""
    # a new token for each phase: the bench outlives an access token (15 minutes)
    rf = ReadFixtures(
        user_token=fixtures.login(fx.user_email, fixtures.PASSWORD), logins=logins, bench_product_id=fx.product_id
    )
    log(f"reads: taking deep cursors ({DEEP_PAGES} pages of 100 by cursor, before the measured runs)")
    combos = list(itertools.product(ORDERINGS, ("", *CATEGORIES)))
    with ThreadPoolExecutor(max_workers=4) as pool:
        for first, cursor in pool.map(lambda combo: _walk(*combo), combos):
            rf.product_ids += [row["id"] for row in first["results"]]
            if cursor:
                rf.deep_cursors.append(cursor)
    headers = {"Authorization": f"Bearer {fx.user_token}"}
    body = {"items": [{"product_id": fx.product_id, "quantity": 1}]}
    for _ in range(orders):
        requests.post(f"{BASE}/api/orders/", json=body, headers=headers, timeout=10).raise_for_status()
    return rf


def _senders(rf: ReadFixtures, run: str, *, round_number: int = 0, rounds: int = 1) -> dict:
    """Per read: the function that sends its request number n (a cache key no earlier request used);
    the product read asks for the round's own share of the product IDs (each product's cached page,
    which no catalog generation versions, is not asked for twice in a phase when there are enough)."""
    rng = random.Random(run)
    sizes = list(range(10, 101))

    def shuffled(*parts) -> list[tuple]:
        combos = list(itertools.product(*parts))
        rng.shuffle(combos)
        return combos

    first, by_category, deep = (
        shuffled(ORDERINGS, sizes),
        shuffled(CATEGORIES, ORDERINGS, sizes),
        shuffled(rf.deep_cursors, sizes),
    )
    ids = sorted(set(rf.product_ids))  # the first pages of the orderings share many products
    random.Random("products").shuffle(ids)  # the same order in every round, so that the shares are disjoint
    products = ids[round_number::rounds] or ids
    rng.shuffle(products)
    searches = [f"{rng.choice(NOUNS)}+{rng.randint(1, 2_000_000)}" for _ in range(10_000)]
    common = shuffled(NOUNS, ORDERINGS, sizes)
    auth = {"Authorization": f"Bearer {rf.user_token}"}

    def get(pool, path: str, n: int, headers: dict | None = None):
        joiner = "&" if "?" in path else "?"
        return pool.request("GET", f"{BASE}{path}{joiner}bench={run}-{n}", headers=headers)

    def first_page(pool, n):
        ordering, size = first[n % len(first)]
        return get(pool, f"/api/products/?ordering={ordering}&page_size={size}", n)

    def deep_page(pool, n):
        (category, cursor), size = deep[n % len(deep)]
        return get(pool, f"/api/products/?category={category}&cursor={cursor}&page_size={size}", n)

    def search(pool, n):
        return get(pool, f"/api/products/?search={searches[n % len(searches)]}", n)

    def search_common(pool, n):
        noun, ordering, size = common[n % len(common)]
        return get(pool, f"/api/products/?search={noun}&ordering={ordering}&page_size={size}", n)

    def category_ordering(pool, n):
        category, ordering, size = by_category[n % len(by_category)]
        return get(pool, f"/api/products/?category={category}&ordering={ordering}&page_size={size}", n)

    def product(pool, n):
        return get(pool, f"/api/products/{products[n % len(products)]}/", n)

    def user_orders(pool, n):
        return get(pool, f"/api/orders/?page_size={sizes[n % len(sizes)]}", n, headers=auth)

    def login(pool, n):
        email, password = rf.logins[n % len(rf.logins)]
        body = json.dumps({"email": email, "password": password})
        return pool.request("POST", f"{BASE}/api/auth/login/", body=body, headers={"Content-Type": "application/json"})

    return {
        "first_page": first_page,
        "deep_page": deep_page,
        "search": search,
        "search_common": search_common,
        "category_ordering": category_ordering,
        "product": product,
        "user_orders": user_orders,
        "login": login,
    }


def reached_database(result: dict, *, at_least: float = 1.0) -> list[str]:
    """The reads were answered from the database, not from a cache: SQL statements per request."""
    sql = result["sql_per_request"]
    return [] if sql >= at_least else [f"only {sql} SQL statements per request: answered from a cache?"]


def frequent_words_found(*, at_least: int = 50) -> list[str]:
    """search_common measures a frequent word: each noun must name many products at this size, or the
    read measures empty pages (the demo catalog's names had none of them until 2026-12-07, so that its
    small-size figures were of searches that found nothing). Asked after the read: its counts are cached."""
    counts = {noun: _get("/api/products/", search=noun, page_size=1)["count"] for noun in NOUNS}
    few = {noun: count for noun, count in counts.items() if count < at_least}
    return [f"too few products match a frequent word (at least {at_least} each): {few}"] if few else []


def run_reads(rf: ReadFixtures, *, idle: dict[str, float], rounds: int = ROUNDS) -> dict[str, dict]:
    by_read: dict[str, list[dict]] = {}
    for round_number in range(rounds):
        if round_number:  # what the last round cached is not read again
            fixtures.new_catalog_generation(rf.bench_product_id)
        run = f"{time.time_ns()}"
        for name, send in _senders(rf, run, round_number=round_number, rounds=rounds).items():
            rate, seconds = (LOGIN_RATE, LOGIN_SECONDS) if name == "login" else (RATE, SECONDS)
            log(f"read {name}, round {round_number + 1} of {rounds}: {rate}/s for {seconds} s, open loop")
            result = measured(
                lambda send=send, rate=rate, seconds=seconds: open_loop(send, rate=rate, seconds=seconds), idle=idle
            )
            result["problems"] = (
                checks.no_errors(result)
                + checks.no_edge_hits(result)
                + checks.generator_kept_up(result)
                + reached_database(result)
                + (frequent_words_found() if name == "search_common" else [])
            )
            by_read.setdefault(name, []).append(result)
    return {name: combined(results) for name, results in by_read.items()}


def combined(rounds: list[dict]) -> dict:
    """A read's rounds as one result: the median of each latency percentile, the mean of each cost per
    request, the requests, answers and cache verdicts added up, the worst dispatch lag, each round's
    p99, and every round's problems (with its number)."""

    def median(key: str) -> float:
        return round(statistics.median(result[key] for result in rounds), 2)

    def mean(values) -> float:
        return round(statistics.fmean(values), 3)

    def added(key: str) -> dict[str, int]:
        total: dict[str, int] = {}
        for result in rounds:
            for verdict, n in result[key].items():
                total[verdict] = total.get(verdict, 0) + n
        return total

    tiers = sorted({tier for result in rounds for tier in result["cpu_ms_per_request"]})
    return {
        "rate": rounds[0]["rate"],
        "rounds": len(rounds),
        "requests": sum(result["requests"] for result in rounds),
        "p50_ms": median("p50_ms"),
        "p99_ms": median("p99_ms"),
        "p999_ms": median("p999_ms"),
        "p99_ms_by_round": [result["p99_ms"] for result in rounds],
        "dispatch_lag_ms": max(result["dispatch_lag_ms"] for result in rounds),
        "status": added("status"),
        "cache": added("cache"),
        "cpu_ms_per_request": {
            tier: mean(result["cpu_ms_per_request"].get(tier, 0.0) for result in rounds) for tier in tiers
        },
        "cpu_ms_per_request_total": round(statistics.fmean(r["cpu_ms_per_request_total"] for r in rounds), 2),
        "sql_per_request": round(statistics.fmean(result["sql_per_request"] for result in rounds), 2),
        "bytes_per_response": round(statistics.fmean(result.get("bytes_per_response", 0) for result in rounds)),
        "window_s": round(sum(result["window_s"] for result in rounds), 1),
        "problems": [
            f"round {number}: {problem}" if len(rounds) > 1 else problem
            for number, result in enumerate(rounds, start=1)
            for problem in result["problems"]
        ],
    }
