"""`manage.py seed_admin`: the admin account from ADMIN_EMAIL / ADMIN_PASSWORD; running it again changes nothing."""

from django.core.management.base import BaseCommand

from shared.db import shards
from shared.settings.environ import env
from users.models import User
from users.selectors import user_find_by_email
from users.services import user_register


class Command(BaseCommand):
    help = "Create the admin account (is_staff) from ADMIN_EMAIL and ADMIN_PASSWORD if it is missing."

    def handle(self, *args, **options):
        email = env("ADMIN_EMAIL", "admin@example.com")
        user = user_find_by_email(email=email)
        if user is None:
            user = user_register(
                email=email, password=env("ADMIN_PASSWORD", "admin-Passw0rd!"), name="Admin", is_staff=True
            )
            self.stdout.write(f"created admin {email} (id {user.id})")
        elif not user.is_staff:
            User.objects.using(shards.primary_for_id(user.id)).filter(id=user.id).update(is_staff=True)
            self.stdout.write(f"made {email} an admin")
        else:
            self.stdout.write(f"admin {email} already there")
