from django.apps import AppConfig


class ProductsConfig(AppConfig):
    name = "products"

    def ready(self):
        from products import events  # noqa: F401 - registers this service's event handlers
