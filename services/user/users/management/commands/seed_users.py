"""`manage.py seed_users`: the 1,000,000 users of `make seed SIZE=large` (COPY; can be run again or resumed).

Their password is SEED_USER_PASSWORD (the environment; `make seed` passes the one in .env).
"""

import time

from django.core.management.base import BaseCommand, CommandError

from shared.db.databases import use_maintenance_pools
from shared.seeding.dataset import ORDERS, USERS
from shared.settings.environ import env
from users.seeding import users_seed_large


class Command(BaseCommand):
    help = "Seed the large user base (seed-<n>@users.example.com, password SEED_USER_PASSWORD)."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=USERS)
        parser.add_argument("--orders", type=int, default=ORDERS, help="as given to the order service's seed_orders")

    def handle(self, *args, users, orders, **options):
        password = env("SEED_USER_PASSWORD", "")
        if len(password) < 12:
            raise CommandError("SEED_USER_PASSWORD must be set (12+ characters): `make env` writes one into .env")
        use_maintenance_pools()
        started = time.monotonic()
        written = users_seed_large(password=password, count=users, orders=orders, report=self.stdout.write)
        self.stdout.write(f"large user base: {written} in {time.monotonic() - started:.0f} s")
