"""`manage.py warm_cache [--limit N]`: load the most viewed products into the cache layers."""

from django.core.management.base import BaseCommand

from products.caching import product_caches_warm


class Command(BaseCommand):
    help = "Warm L2 (and this process's L1) with the most viewed products."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=100)

    def handle(self, *args, limit: int, **options):
        self.stdout.write(f"warmed {product_caches_warm(limit=limit)} products")
