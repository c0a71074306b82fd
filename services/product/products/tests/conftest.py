"""Fixtures of the admin tests: a staff session the (faked) user service vouches for."""

from shared.staff.testing import local_cache, staff, user_service  # noqa: F401
