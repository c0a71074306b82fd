"""Every Django process refuses the well-known secrets unless ALLOW_INSECURE_DEFAULTS=1 says so."""

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from shared.settings.secrets import WELL_KNOWN_DEFAULTS, insecure_secrets, refuse_insecure_defaults

REAL = {
    "DJANGO_SECRET_KEY": "k" * 50,
    "DB_PASSWORD": "p1",
    "ADMIN_PASSWORD": "p2",
    "POSTGRES_PASSWORD": "p3",
    "REPLICATION_PASSWORD": "p4",
    "REDIS_CACHE_PASSWORD": "p5",
    "REDIS_BROKER_PASSWORD": "p6",
}


def test_real_secrets_pass():
    assert insecure_secrets(REAL) == []
    refuse_insecure_defaults(REAL)


@pytest.mark.parametrize("name", sorted(WELL_KNOWN_DEFAULTS))
def test_each_well_known_default_is_refused_by_name(name):
    environ = {**REAL, name: WELL_KNOWN_DEFAULTS[name]}
    with pytest.raises(ImproperlyConfigured, match=name) as refused:
        refuse_insecure_defaults(environ)
    assert "make env" in str(refused.value) and "ALLOW_INSECURE_DEFAULTS=1" in str(refused.value)


def test_the_secrets_django_falls_back_on_are_refused_when_unset():
    # unset, the code would use the well-known value; the database servers' passwords are not Django's
    environ = {"POSTGRES_PASSWORD": "p3"}
    assert insecure_secrets(environ) == [
        "DJANGO_SECRET_KEY",
        "DB_PASSWORD",
        "ADMIN_PASSWORD",
        "REDIS_CACHE_PASSWORD",
        "REDIS_BROKER_PASSWORD",
    ]
    assert insecure_secrets({**environ, "DJANGO_SECRET_KEY": ""})[0] == "DJANGO_SECRET_KEY"


def test_the_dev_flag_lets_them_through():
    refuse_insecure_defaults(dict(WELL_KNOWN_DEFAULTS), allow=True)


def test_unit_tests_run_with_the_dev_flag():
    # shared/settings/test.py sets it before the base settings load (test-db and keys made for the run)
    assert settings.ALLOW_INSECURE_DEFAULTS is True
