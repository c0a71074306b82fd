from django.apps import AppConfig


class OpsConfig(AppConfig):
    """`/ops/`: the picture of the running system for staff (charts from Prometheus), behind a session."""

    name = "ops"
