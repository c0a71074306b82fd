"""`manage.py seed_catalog`: a demo catalog of categories and products; running it twice changes nothing.

`--large` loads the large catalog of `make seed SIZE=large` instead (2,000,000 products, see
shared/seeding/dataset.py) with COPY; it can be run again or resumed.
"""

import random
import time
from decimal import Decimal

from django.core.management.base import BaseCommand

from products.services.catalog import category_ensure, products_bulk_create
from products.services.seeding import products_seed_large
from shared.db.databases import use_maintenance_pools
from shared.seeding.dataset import ADJECTIVES, CATEGORIES, NOUNS, PRODUCTS


class Command(BaseCommand):
    help = "Seed the demo catalog (categories on every shard, products spread over the shards)."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=None, help="default 1200, or 2,000,000 with --large")
        parser.add_argument("--large", action="store_true", help="the large data set, loaded with COPY")

    def handle(self, *args, products, large, **options):
        if large:
            use_maintenance_pools()
            started = time.monotonic()
            written = products_seed_large(count=products or PRODUCTS, report=self.stdout.write)
            self.stdout.write(f"large catalog: {written} in {time.monotonic() - started:.0f} s")
            return
        products = products or 1200
        for slug, name in CATEGORIES.items():
            category_ensure(slug=slug, name=name)
        rng = random.Random(42)  # the same catalog every time: SKUs repeat, so a second run adds nothing
        slugs = sorted(CATEGORIES)
        rows = []
        for number in range(1, products + 1):
            slug = slugs[number % len(slugs)]
            rows.append(
                {
                    "sku": f"SKU-{number:06d}",
                    # the large seed's shape: each noun names 1 product in 12 at both sizes, so that a
                    # search for one (make bench-sizes' search_common) finds as much at either
                    "name": f"{rng.choice(ADJECTIVES)} {CATEGORIES[slug]} {NOUNS[number % len(NOUNS)]} {number}",
                    "description": f"Demo product {number} in {CATEGORIES[slug]}.",
                    "category_id": slug,
                    "price": Decimal(rng.randint(199, 99999)) / 100,
                    "stock": rng.randint(50, 500),
                }
            )
        created = products_bulk_create(rows=rows)
        self.stdout.write(f"catalog: {len(CATEGORIES)} categories, {created} new products ({products} in the seed)")
