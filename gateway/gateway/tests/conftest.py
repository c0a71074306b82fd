import pytest

from gateway import routing


@pytest.fixture
def routes_file(settings, tmp_path, monkeypatch):
    """The gateway's routes file in a temporary directory, read again on every call."""
    settings.GATEWAY_ROUTES_FILE = str(tmp_path / "routes.json")
    monkeypatch.setattr(routing, "ROUTES_CHECK_SECONDS", 0.0)
    return tmp_path / "routes.json"
