"""`manage.py expire_pending_orders [--older-than SECONDS]`: what the worker's beat runs every 30 s, now."""

from django.core.management.base import BaseCommand

from orders.services import order_expire_pending


class Command(BaseCommand):
    help = 'Reject the orders pending for longer than ORDER_PENDING_TIMEOUT_SECONDS (or --older-than): "timed out".'

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=float, default=None, metavar="SECONDS")

    def handle(self, *args, older_than, **options):
        self.stdout.write(f"rejected {order_expire_pending(older_than_seconds=older_than)} pending orders")
