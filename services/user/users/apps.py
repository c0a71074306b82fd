from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "users"

    def ready(self):
        from users import events  # noqa: F401 - registers this service's event handlers
