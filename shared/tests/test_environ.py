"""Settings from the environment: a URL and its password kept in separate variables."""

from shared.settings.environ import env_url_with_password


def test_the_password_is_added_to_the_urls_user_and_quoted(monkeypatch):
    monkeypatch.setenv("CACHE_URL", "redis://app@redis-cache:6379/0")
    monkeypatch.setenv("REDIS_CACHE_PASSWORD", "p@ss/w:rd")
    url = env_url_with_password("CACHE_URL", "", password_from="REDIS_CACHE_PASSWORD", default_password="x")
    assert url == "redis://app:p%40ss%2Fw%3Ard@redis-cache:6379/0"


def test_defaults_apply_when_unset(monkeypatch):
    monkeypatch.delenv("BROKER", raising=False)
    monkeypatch.delenv("BROKER_PASSWORD", raising=False)
    url = env_url_with_password(
        "BROKER", "redis://celery@redis-broker:6379/0", password_from="BROKER_PASSWORD", default_password="dev"
    )
    assert url == "redis://celery:dev@redis-broker:6379/0"
