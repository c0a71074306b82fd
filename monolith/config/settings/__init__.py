"""`config.settings` is what the running monolith uses (base.py)."""

from .base import *  # noqa: F403
