"""One validated `Settings` object for every process, read from `HCP_*` environment variables.

Flat names for what DESIGN.md names (`HCP_DATABASE_URL`, `HCP_BUS_URL`, `HCP_SECRET_KEY`,
`HCP_DEMO`); nested sections for the rest (`HCP_SERVER__PORT`, `HCP_SIM__SPEED`, ...).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Known to everyone who has read the README; only acceptable while demo mode says so loudly.
DEMO_SECRET_KEY = "hcp-demo-secret-key-change-me-in-production"

SERVICE_PORTS: dict[str, int] = {
    "orchestrator": 8080,
    "optimizer": 8081,
    "router": 8082,
    "resources": 8083,
    "billing": 8084,
    "auth": 8085,
    "websocket": 8086,
    "simulator": 8090,
}


class UnsafeSettingsError(RuntimeError):
    """Settings that would run the platform insecurely outside demo mode."""


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    cors_origins: list[str] = Field(default_factory=list)
    # Reported in /ready when the process is one service of split mode.
    service: str | None = None


class AuthSettings(BaseModel):
    access_token_minutes: int = Field(15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(14, ge=1, le=365)


class SimSettings(BaseModel):
    enabled: bool = True
    speed: float = Field(1.0, gt=0, le=100_000)
    seed: int = 42
    gpus: int = Field(10, ge=0)
    asics: int = Field(20, ge=0)
    # Each simulated miner listens on its own loopback address, base + index, like a subnet.
    asic_subnet: str = "127.0.1.0/24"
    asic_rpc_port: int = Field(4028, ge=1, le=65535)
    asic_web_port: int = Field(80, ge=1, le=65535)
    # Every n-th miner runs LuxOS-style firmware (wattage and power targets); 0 = all stock.
    luxos_every: int = Field(4, ge=0)
    tick_s: float = Field(1.0, gt=0)
    telemetry_interval_s: float = Field(10.0, gt=0)
    market_interval_s: float = Field(60.0, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HCP_", env_nested_delimiter="__", extra="ignore", validate_default=True
    )

    database_url: str = "sqlite+aiosqlite:///./var/hcp.db"
    bus_url: str = "memory://"
    # Subjects are published as "<bus_prefix>.<subject>" into one JetStream stream.
    bus_prefix: str = "hcp"
    bus_stream: str = "HCP"
    secret_key: str = DEMO_SECRET_KEY
    demo: bool = False
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    outbox_poll_s: float = Field(1.0, gt=0)

    server: ServerSettings = Field(default_factory=ServerSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    sim: SimSettings = Field(default_factory=SimSettings)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "HCP_DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
            )
        return value

    @field_validator("bus_url")
    @classmethod
    def _known_bus(cls, value: str) -> str:
        if not value.startswith(("memory://", "nats://", "tls://")):
            raise ValueError("HCP_BUS_URL must be memory:// or nats://host:port")
        return value

    def assert_safe_to_serve(self) -> None:
        """Refuse to serve with the public demo secret (or a weak one) outside demo mode."""
        if self.demo:
            return
        if self.secret_key == DEMO_SECRET_KEY:
            raise UnsafeSettingsError(
                "HCP_SECRET_KEY is the public demo key. Set HCP_SECRET_KEY to a random value "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`) "
                "or run in demo mode (hcp up --demo)."
            )
        if len(self.secret_key) < 32:
            raise UnsafeSettingsError("HCP_SECRET_KEY must be at least 32 characters")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
