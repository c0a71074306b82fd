"""The product service: categories and the catalog, stock reservations for orders."""

from shared.settings.sharded import *  # noqa: F403
from shared.settings.sharded import INSTALLED_APPS

SERVICE_NAME = "product"
INSTALLED_APPS = [*INSTALLED_APPS, "products"]
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS, "TITLE": "product service"}  # noqa: F405
