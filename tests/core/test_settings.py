import pytest
from pydantic import ValidationError

from hcp.core.settings import DEMO_SECRET_KEY, Settings, UnsafeSettingsError


def test_defaults_are_embedded_sqlite_and_memory_bus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HCP_DEMO", "true")
    settings = Settings()
    assert settings.database_url == "sqlite+aiosqlite:///./var/hcp.db"
    assert settings.bus_url == "memory://"
    assert settings.server.port == 8080


def test_refuses_demo_secret_outside_demo_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HCP_DEMO", raising=False)
    monkeypatch.delenv("HCP_SECRET_KEY", raising=False)
    with pytest.raises(UnsafeSettingsError, match="HCP_SECRET_KEY is the public demo key"):
        Settings().assert_safe_to_serve()
    with pytest.raises(UnsafeSettingsError, match="at least 32 characters"):
        Settings(secret_key="short").assert_safe_to_serve()
    Settings(secret_key="x" * 40).assert_safe_to_serve()
    demo = Settings(demo=True)
    demo.assert_safe_to_serve()
    assert demo.secret_key == DEMO_SECRET_KEY


def test_nested_sections_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HCP_DEMO", "1")
    monkeypatch.setenv("HCP_SERVER__PORT", "9999")
    monkeypatch.setenv("HCP_SIM__SPEED", "60")
    monkeypatch.setenv("HCP_SERVER__CORS_ORIGINS", '["http://localhost:5173"]')
    settings = Settings()
    assert settings.server.port == 9999
    assert settings.sim.speed == 60
    assert settings.server.cors_origins == ["http://localhost:5173"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("database_url", "mysql://x"), ("bus_url", "kafka://x"), ("server", {"port": 0})],
)
def test_invalid_values_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        Settings(demo=True, **{field: value})
    assert field in str(info.value)
