"""`manage.py seed_orders`: the 2,000,000 orders of `make seed SIZE=large` (COPY; can be run again or resumed)."""

import time

from django.core.management.base import BaseCommand

from orders.seeding import orders_seed_large
from shared.db.databases import use_maintenance_pools
from shared.seeding.dataset import ORDERS, USERS


class Command(BaseCommand):
    help = "Seed the large order history of the seeded users (products and users of shared/seeding)."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=ORDERS)
        parser.add_argument("--users", type=int, default=USERS, help="as given to the user service's seed_users")

    def handle(self, *args, orders, users, **options):
        use_maintenance_pools()
        started = time.monotonic()
        written = orders_seed_large(count=orders, users=users, report=self.stdout.write)
        self.stdout.write(f"large order history: {written} in {time.monotonic() - started:.0f} s")
