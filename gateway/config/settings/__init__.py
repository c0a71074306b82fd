"""`config.settings` is what the running process uses (base.py); the unit tests use `config.settings.test`."""

from .base import *  # noqa: F403
