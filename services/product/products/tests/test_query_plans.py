"""Every query the catalog's selectors run is answered through an index: EXPLAIN shows no sequential scan
of the product table, for every public read of products/query_plans.py (every ordering, filter and
search the list offers, first and deep pages, pages by number, the counts, a product by ID and the
lookup by IDs; `manage.py check_query_plans` runs the same reads on the live catalog).

The planner chooses freely (no `enable_seqscan = off`): the test loads a catalog large enough for an
index to be worth it (30,000 products, 15,000 a server) and does what autovacuum does after a bulk
load: ANALYZE, and moving the trigram index's pending list (GIN's fast update) into the index. What
runs is what is explained: the selectors are called, every statement they send is captured and then
EXPLAINed on the server it ran on. Search terms are either frequent (a tenth of the catalog: the
planner's estimate then stands in for a count) or rare (a few products): the only terms whose matches
get counted exactly, up to 1,000 a server, which on a catalog of millions are a small fraction of it.
"""

from __future__ import annotations

import io
import random
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connections

from products import query_plans, selectors
from products.models import Product
from products.services.catalog import category_ensure, products_bulk_create
from shared.db import plans, shards

pytestmark = pytest.mark.django_db(databases="__all__")
PRODUCTS = 30_000
CATEGORIES = ["books", "electronics", "garden", "kitchen", "music", "outdoors", "toys", "tools"]
ADJECTIVES = ["Compact", "Classic", "Deluxe", "Eco", "Pro", "Smart", "Travel", "Vintage", "Rugged", "Silent"]
NOUNS = ["Lamp", "Kettle", "Drill", "Novel", "Guitar", "Tent", "Robot", "Radio", "Chair", "Spade", "Atlas"]
RARE_WORD = "Quixotic"  # in the names of 6 products
SEARCHES = {
    "frequent word": "compact",
    "rare word": RARE_WORD.lower(),
    "exact sku": "PLAN-012345",
    "two characters": "pr",
}


@pytest.fixture
def catalog() -> None:
    for slug in [*CATEGORIES, "small"]:
        category_ensure(slug=slug, name=slug.title())
    rng = random.Random(16)
    rows = []
    for number in range(PRODUCTS):
        words = [rng.choice(ADJECTIVES), rng.choice(NOUNS), RARE_WORD if number % 5000 == 7 else "", str(number)]
        rows.append(
            {
                "sku": f"PLAN-{number:06d}",
                "name": " ".join(word for word in words if word),
                "category_id": "small" if number % 1500 == 1 else rng.choice(CATEGORIES),
                "price": Decimal(rng.randint(100, 99999)) / 100,
                "stock": 5,
                "is_active": number % 20 != 3,
            }
        )
    products_bulk_create(rows=rows)
    for alias in shards.primaries():
        with connections[alias].cursor() as cursor:
            cursor.execute("ANALYZE products_product")
            cursor.execute("ANALYZE products_category")
            cursor.execute("SELECT gin_clean_pending_list('product_name_trgm_idx'::regclass)")
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'products_product'")
            assert cursor.fetchone()[0] > PRODUCTS / 3  # the planner knows the table is large


def _statements(call) -> list[tuple[str, str]]:
    return plans.statements_sent(call, mentioning=query_plans.MENTIONING)


def test_no_catalog_query_reads_the_product_table_sequentially(catalog):
    # given: every public read, with deep pages halfway down each list
    reads = query_plans.public_reads(searches=SEARCHES, categories=("kitchen", "small"), depth=PRODUCTS // 4)
    # when
    count, scans = plans.check(reads, tables=query_plans.LARGE_TABLES, mentioning=query_plans.MENTIONING)
    # then: each statement had its index (and the reads did reach the product table)
    assert count >= len(reads)
    assert scans == [], f"{len(scans)} of {count} statements scan the product table:\n\n" + "\n\n".join(scans[:5])


def test_a_search_of_three_characters_or_more_uses_the_trigram_index(catalog):
    # when
    statements = _statements(lambda: selectors.product_list(search=RARE_WORD.lower()))
    # then
    for alias, sql in statements:
        with connections[alias].cursor() as cursor:
            cursor.execute("EXPLAIN " + sql)
            assert "product_name_trgm_idx" in "\n".join(row[0] for row in cursor.fetchall())
    assert len(selectors.product_list(search=RARE_WORD.lower(), page_size=100).items) == 6


def test_a_deep_page_seeks_with_the_ordering_index(catalog):
    # given: a position halfway down the catalog by price
    middle = query_plans.deep_position("-price", {"category": "kitchen"}, depth=PRODUCTS // 32)
    # when
    statements = _statements(lambda: selectors.product_list(category="kitchen", ordering="-price", after=middle))
    # then: the row comparison is the index condition of a backward scan of (category, price, id)
    for alias, sql in statements:
        with connections[alias].cursor() as cursor:
            cursor.execute("EXPLAIN " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "Index Scan Backward using product_active_cat_price_idx" in plan, plan
        assert "Index Cond: (((category_id)::text = 'kitchen'::text) AND (ROW(price, id) < ROW(" in plan, plan


@pytest.mark.parametrize("ordering", sorted(selectors.COVERED_BY_THEIR_INDEX))
def test_a_frequent_word_in_a_name_ordering_walks_the_name_index_only(catalog, ordering):
    # when: a word a tenth of the catalog has, its first page in a name ordering
    statements = _statements(lambda: selectors.product_list(search="compact", ordering=ordering, page_size=20))
    # then: each server tests name and SKU on the entries of the name index, never reading the table,
    # and the page's rows are then read by ID
    plans_by_kind = {"keys": [], "rows": []}
    for alias, sql in statements:
        with connections[alias].cursor() as cursor:
            cursor.execute("EXPLAIN " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        plans_by_kind["rows" if '"products_product"."id" IN (' in sql else "keys"].append(plan)
    assert len(plans_by_kind["keys"]) == len(shards.primaries()) and plans_by_kind["rows"]
    for plan in plans_by_kind["keys"]:
        assert "Index Only Scan" in plan and "using product_active_name_idx" in plan, plan
    # and: the same page as sorting every match
    page = selectors.product_list(search="compact", ordering=ordering, page_size=20)
    matches = [
        (product.name, product.id)
        for alias in shards.primaries()
        for product in Product.objects.using(alias).filter(is_active=True, name__icontains="compact")
    ]
    expected = sorted(matches, reverse=ordering.startswith("-"))[:20]
    assert [(product.name, product.id) for product in page.items] == expected


def test_warm_buffers_reads_every_index_of_the_public_reads_and_no_other_into_each_servers_buffers(catalog):
    # given: the extensions roles.sh makes in the live databases (pg_buffercache: to look into the buffers)
    for alias in shards.primaries():
        with connections[alias].cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_buffercache")
    used = {
        index
        for read in query_plans.public_reads()
        for alias, sql in _statements(read)
        for index in plans.indexes_read(alias, sql)
    }
    # when
    out = io.StringIO()
    call_command("warm_buffers", stdout=out)
    # then: one line a server, naming the indexes the reads use
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == shards.primaries()
    for alias, line in zip(shards.primaries(), lines, strict=True):
        assert "left out" not in line and set(line.split(": ", 2)[2].split(", ")) == used
        # and: every block of each is in the server's shared buffers
        with connections[alias].cursor() as cursor:
            cursor.execute(
                "SELECT c.relname, pg_relation_size(c.oid) / 8192, count(b.bufferid) FROM pg_class c"
                " LEFT JOIN pg_buffercache b ON b.relfilenode = pg_relation_filenode(c.oid) AND b.relforknumber = 0"
                " AND b.reldatabase = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " WHERE c.relname = ANY(%s) GROUP BY 1, 2",
                [sorted(used)],
            )
            for index, blocks, buffered in cursor.fetchall():
                assert buffered == blocks > 0, (alias, index, blocks, buffered)
    # and: the search's, a name ordering's and a category's price ordering's are among them; some index of
    # the product table is in no read's plan (the unique SKU's, used by writes) and was left out
    assert {"product_name_trgm_idx", "product_active_name_idx", "product_active_cat_price_idx"} <= used
    with connections[shards.primaries()[0]].cursor() as cursor:
        cursor.execute("SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = 'products_product'::regclass")
        unused = {row[0] for row in cursor.fetchall()} - used
    assert "products_product_sku_key" in unused
