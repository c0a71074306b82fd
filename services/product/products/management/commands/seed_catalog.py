"""`manage.py seed_catalog`: a demo catalog of categories and products; running it twice changes nothing."""

import random
from decimal import Decimal

from django.core.management.base import BaseCommand

from products.services.catalog import category_ensure, products_bulk_create

CATEGORIES = {
    "books": "Books",
    "electronics": "Electronics",
    "garden": "Garden",
    "kitchen": "Kitchen",
    "music": "Music",
    "outdoors": "Outdoors",
    "toys": "Toys",
    "tools": "Tools",
}
ADJECTIVES = ["Compact", "Classic", "Deluxe", "Eco", "Pro", "Smart", "Travel", "Vintage", "Rugged", "Silent"]


class Command(BaseCommand):
    help = "Seed the demo catalog (categories on every shard, products spread over the shards)."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=1200)

    def handle(self, *args, products, **options):
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
                    "name": f"{rng.choice(ADJECTIVES)} {CATEGORIES[slug]} item {number}",
                    "description": f"Demo product {number} in {CATEGORIES[slug]}.",
                    "category_id": slug,
                    "price": Decimal(rng.randint(199, 99999)) / 100,
                    "stock": rng.randint(50, 500),
                }
            )
        created = products_bulk_create(rows=rows)
        self.stdout.write(f"catalog: {len(CATEGORIES)} categories, {created} new products ({products} in the seed)")
