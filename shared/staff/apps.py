from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "shared.staff"
    label = "staff"
    verbose_name = "Staff pages"
