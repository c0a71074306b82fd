from django.apps import AppConfig


class EventsConfig(AppConfig):
    """Outbox, inbox and dead letters, on every shard primary of a service."""

    name = "shared.events"
    label = "events"
