"""`manage.py seed_admin`: the admin account as ADMIN_EMAIL / ADMIN_PASSWORD say; running it again changes nothing.

- no account with ADMIN_EMAIL: it is created, as staff, with ADMIN_PASSWORD;
- a staff account with ADMIN_EMAIL: its password is set to ADMIN_PASSWORD if it is another one (and
  its refresh tokens are revoked), so that a changed `.env` takes effect at the next `make seed`;
- an account with ADMIN_EMAIL that is not staff (someone registered that address): it is left as it
  is, never promoted, and the command fails (exit 1) saying so, so that `make seed` does not report
  an admin that does not exist.
"""

from django.core.management.base import BaseCommand, CommandError

from shared.errors import ApplicationError
from shared.settings.environ import env
from users.services import admin_seed

DONE = {
    "created": "created admin {email} (id {id})",
    "password_reset": "admin {email} already there; its password is now ADMIN_PASSWORD (refresh tokens revoked)",
    "unchanged": "admin {email} already there",
}


class Command(BaseCommand):
    help = "Create the admin account (is_staff) from ADMIN_EMAIL and ADMIN_PASSWORD, or reset its password."

    def handle(self, *args, **options):
        email = env("ADMIN_EMAIL", "admin@example.com")
        try:
            user, outcome = admin_seed(email=email, password=env("ADMIN_PASSWORD", "admin-Passw0rd!"))
        except ApplicationError as exc:
            detail = f" {exc.fields}" if exc.fields else ""
            raise CommandError(f"{exc.message}{detail}") from exc
        self.stdout.write(DONE[outcome].format(email=user.email, id=user.id))
