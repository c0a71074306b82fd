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


def test_a_secret_may_come_from_the_file_its_FILE_variable_names(tmp_path):
    # Docker Swarm mounts secrets as files: DB_PASSWORD_FILE=/run/secrets/db_password
    for name, value in REAL.items():
        (tmp_path / name).write_text(value + "\n")
    from_files = {f"{name}_FILE": str(tmp_path / name) for name in REAL}
    assert insecure_secrets(from_files) == []
    (tmp_path / "DB_PASSWORD").write_text(WELL_KNOWN_DEFAULTS["DB_PASSWORD"] + "\n")
    assert insecure_secrets(from_files) == ["DB_PASSWORD"]
    # the variable itself wins over the file
    assert insecure_secrets({**from_files, "DB_PASSWORD": "p1"}) == []


def test_env_reads_the_FILE_variable(tmp_path, monkeypatch):
    from shared.settings.environ import env

    (tmp_path / "key").write_text("from-a-file\n")
    monkeypatch.delenv("SOME_SECRET", raising=False)
    monkeypatch.setenv("SOME_SECRET_FILE", str(tmp_path / "key"))
    assert env("SOME_SECRET") == "from-a-file"
    monkeypatch.setenv("SOME_SECRET", "from-the-variable")
    assert env("SOME_SECRET") == "from-the-variable"
