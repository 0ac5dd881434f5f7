"""One validated `Settings` object for every process, read from `HCP_*` environment variables.

Flat names for what DESIGN.md names (`HCP_DATABASE_URL`, `HCP_BUS_URL`, `HCP_SECRET_KEY`,
`HCP_DEMO`); nested sections for the rest (`HCP_SERVER__PORT`, `HCP_SIM__SPEED`, ...).
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
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
    # The web console's build, served at / by `hcp up` (default: web/dist of the repository).
    console_dir: Path | None = None


class AuthSettings(BaseModel):
    access_token_minutes: int = Field(15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(14, ge=1, le=365)
    # Login throttling: failures counted per account from one address, per account from
    # anywhere, and per address, within a window; past a limit, waits that double from
    # `login_backoff_s` up to `login_backoff_max_s`. Never a permanent lockout.
    login_window_s: int = Field(900, ge=1)
    login_failures_per_account_address: int = Field(5, ge=1)
    login_failures_per_account: int = Field(20, ge=1)
    login_failures_per_address: int = Field(50, ge=1)
    login_backoff_s: int = Field(30, ge=1)
    login_backoff_max_s: int = Field(900, ge=1)
    # The first administrator of a production install: created at start while no usable (active,
    # non-demo) administrator exists; never changed afterwards.
    bootstrap_admin_email: str | None = None
    bootstrap_admin_password: SecretStr | None = None


# The miner models the simulator has (hcp.sim.asic.device.MODELS) and the demo's mix beside its
# 20 S21s: older, less efficient miners that the planner curtails first when power is short.
SimAsicModel = Literal["S21", "S19 XP", "M50S"]
DEMO_ASIC_MIX: dict[str, int] = {"S19 XP": 14, "M50S": 10}


class SimSettings(BaseModel):
    enabled: bool = True
    speed: float = Field(1.0, gt=0, le=100_000)
    seed: int = 42
    gpus: int = Field(10, ge=0)
    # Antminer S21s (every `luxos_every`-th on LuxOS); other models are `asic_mix`.
    asics: int = Field(20, ge=0)
    # Miners of other models beside the S21s, by model: {"S19 XP": 14, "M50S": 10}. Unset, the
    # demo (demo mode with `asics` left at its default) adds DEMO_ASIC_MIX, and nothing otherwise,
    # so a setting that names `asics` gets exactly that many S21s.
    asic_mix: dict[SimAsicModel, Annotated[int, Field(ge=0, le=10_000)]] | None = None
    # Each simulated miner listens on its own loopback address, base + index, like a subnet.
    asic_subnet: str = "127.0.1.0/24"
    asic_rpc_port: int = Field(4028, ge=1, le=65535)
    asic_web_port: int = Field(80, ge=1, le=65535)
    # Every n-th miner runs LuxOS-style firmware (wattage and power targets); 0 = all stock.
    luxos_every: int = Field(4, ge=0)
    tick_s: float = Field(1.0, gt=0)
    telemetry_interval_s: float = Field(10.0, gt=0)
    market_interval_s: float = Field(60.0, gt=0)

    def asic_models(self, *, demo: bool) -> dict[str, int]:
        """The miners beside the `asics` S21s, by model: what this setting and demo mode make."""
        if self.asic_mix is not None:
            return {k: v for k, v in self.asic_mix.items() if v}
        if demo and "asics" not in self.model_fields_set:
            return dict(DEMO_ASIC_MIX)
        return {}

    def asic_count(self, *, demo: bool) -> int:
        """Every simulated miner: the S21s and the rest of the mix."""
        return self.asics + sum(self.asic_models(demo=demo).values())


class ResourcesSettings(BaseModel):
    """The resource manager: health polling, thresholds, telemetry retention, discovery."""

    # Poll every unit through its driver (the health monitor); off for processes that only serve reads.
    monitor: bool = True
    poll_interval_s: float = Field(10.0, gt=0)
    poll_timeout_s: float = Field(5.0, gt=0)
    # Reads in flight at once: enough to hide network latency, few enough that a busy poller
    # does not stretch every read past its timeout.
    poll_concurrency: int = Field(64, ge=1, le=10_000)
    # A unit is offline after this many failed polls in a row; a failed poll of an online unit is
    # confirmed by one retry after `confirm_retry_s`, so a dead unit is offline within one interval.
    offline_after_missed_polls: int = Field(2, ge=1)
    confirm_retry_s: float = Field(0.5, ge=0)
    # Stock Antminer firmware answers board temperatures, errors and work mode only over its web
    # API, which costs several times the CGMiner API: read those at this slower cadence.
    asic_detail_interval_s: float = Field(60.0, gt=0)
    asic_temp_warning_c: float = 85.0
    asic_temp_critical_c: float = 95.0
    gpu_temp_warning_c: float = 85.0
    gpu_temp_critical_c: float = 92.0
    # Hashrate below this share of the unit's expected hashrate while mining.
    hashrate_warning_ratio: float = Field(0.8, ge=0, le=1)
    hashrate_critical_ratio: float = Field(0.5, ge=0, le=1)
    # A miner coming back from curtailment ramps for minutes: no hashrate verdict until then.
    mining_ramp_s: float = Field(600.0, ge=0)
    # A fan under this speed while the unit mines counts as failed.
    fan_min_rpm: float = Field(1000.0, ge=0)
    telemetry_retention_h: float = Field(48.0, gt=0)
    rollup_retention_days: float = Field(90.0, gt=0)
    # How often rollups are brought up to date and old samples deleted.
    telemetry_maintenance_s: float = Field(60.0, gt=0)
    discovery_concurrency: int = Field(256, ge=1, le=10_000)
    discovery_connect_timeout_s: float = Field(1.0, gt=0)
    discovery_identify_timeout_s: float = Field(10.0, gt=0)
    # Demo mode: discover the simulator's miners (and register its GPUs) at start.
    discover_simulator: bool = True


class EconomicsSettings(BaseModel):
    """The live plan: how often, and how steady (hysteresis)."""

    plan: bool = True
    # At most one plan per this many seconds of clock time (ticks in between are skipped).
    plan_interval_s: float = Field(60.0, gt=0)
    # Keep the current plan unless the optimum earns at least this much more.
    min_gain_usd_per_hour: float = Field(1.0, ge=0)
    # A unit that changed mode less than this long ago keeps it (unless a cap forces a change).
    min_dwell_s: float = Field(900.0, ge=0)
    # What a switch costs the objective: an ASIC's start-up ramp and a GPU's switch, in seconds.
    asic_ramp_s: float = Field(600.0, ge=0, le=86_400)
    gpu_switch_s: float = Field(0.5, ge=0, le=3_600)
    # A spot rental ends this long (clock time) after the plan gives notice.
    spot_notice_s: float = Field(120.0, ge=0, le=86_400)
    # Replan on a change of demand (work queued or ended) at most this often, in wall seconds.
    replan_s: float = Field(1.0, gt=0, le=3_600)


class OrchestratorSettings(BaseModel):
    """The workload loop: how often it looks at the queue, and how switches are retried."""

    # Run the loop in this process (placement, switching, completion, reconciliation).
    run: bool = True
    # Real seconds between ticks; a submission or cancellation wakes the loop at once.
    tick_s: float = Field(1.0, gt=0)
    # Real seconds one GPU switch may take before it counts as failed.
    switch_timeout_s: float = Field(10.0, gt=0)
    # Further attempts at a failed switch before the workload fails.
    retries: int = Field(2, ge=0, le=10)
    # Real seconds between checks of the database against what the drivers report (drift repair).
    reconcile_s: float = Field(30.0, gt=0)
    # A fleet plan older than this (clock seconds: the prices stopped) no longer steers placement.
    plan_max_age_s: float = Field(600.0, gt=0)
    # Demo mode: the demo customers keep submitting workloads (`hcp up --demo` turns it on).
    demo_demand: bool = False
    demo_demand_interval_s: float = Field(5.0, gt=0)
    # How many workloads each demo customer keeps active (queued or running), by tenant slug.
    demo_active: dict[str, int] = Field(default_factory=lambda: {"acme": 5, "globex": 5, "initech": 5})


class MarketFeedSettings(BaseModel):
    """One real price feed, polled over HTTP. Off unless enabled: the demo has the simulator.

    Each feed has a section of its own with its defaults, so `HCP_MARKET__COINBASE__ENABLED=true`
    alone turns one on."""

    enabled: bool = False
    url: str
    # Real APIs rate-limit on wall time, so feeds poll on wall time whatever the clock speed.
    interval_s: float = Field(60.0, gt=0)
    # Extra request headers, such as an API key the provider asks for.
    headers: dict[str, str] = Field(default_factory=dict)


class CoinbaseFeedSettings(MarketFeedSettings):
    url: str = "https://api.coinbase.com/v2/prices/BTC-USD/spot"


class KrakenFeedSettings(MarketFeedSettings):
    url: str = "https://api.kraken.com/0/public/Ticker?pair=XBTUSD"


class MempoolFeedSettings(MarketFeedSettings):
    """The tip's difficulty and the fees per block averaged over the latest blocks."""

    url: str = "https://mempool.space/api/v1/blocks"
    interval_s: float = Field(300.0, gt=0)


class BlockchainInfoFeedSettings(MarketFeedSettings):
    url: str = "https://blockchain.info/q/getdifficulty"
    interval_s: float = Field(600.0, gt=0)


class ErcotFeedSettings(MarketFeedSettings):
    """ERCOT's real-time settlement point prices (NP6-905-CD, hubs and load zones, 15-minute
    intervals) from its public MIS: `url` lists the report's documents, the newest CSV is
    fetched from `download_url`."""

    url: str = "https://www.ercot.com/misapp/servlets/IceDocListJsonWS?reportTypeId=12301"
    download_url: str = "https://www.ercot.com/misdownload/servlets/mirDownload?doclookupId={doc_id}"
    interval_s: float = Field(300.0, gt=0)
    # Settlement points kept (named as the simulator names its nodes); empty keeps them all.
    settlement_points: list[str] = Field(
        default_factory=lambda: ["HB_NORTH", "HB_SOUTH", "HB_WEST", "HB_HOUSTON"]
    )


class MarketSettings(BaseModel):
    """Market data: ingestion of `market.tick`, staleness, history retention and real feeds."""

    # Store the `market.tick` events of the bus (the simulator's or the feeds') in this process.
    ingest: bool = True
    # A price older than this (on the platform's clock) is stale; per-kind overrides below.
    stale_after_s: float = Field(600.0, gt=0)
    # ERCOT settles 15-minute intervals and posts them minutes after they end.
    stale_after_by_kind_s: dict[str, float] = Field(
        default_factory=lambda: {"electricity_usd_per_mwh": 2700.0}
    )
    history_retention_days: float = Field(90.0, gt=0)
    prune_interval_s: float = Field(3600.0, gt=0)
    feed_timeout_s: float = Field(10.0, gt=0)
    coinbase: CoinbaseFeedSettings = Field(default_factory=CoinbaseFeedSettings)
    kraken: KrakenFeedSettings = Field(default_factory=KrakenFeedSettings)
    mempool: MempoolFeedSettings = Field(default_factory=MempoolFeedSettings)
    blockchain_info: BlockchainInfoFeedSettings = Field(default_factory=BlockchainInfoFeedSettings)
    ercot: ErcotFeedSettings = Field(default_factory=ErcotFeedSettings)

    @field_validator("stale_after_by_kind_s")
    @classmethod
    def _positive_thresholds(cls, value: dict[str, float]) -> dict[str, float]:
        for kind, seconds in value.items():
            if not seconds > 0:
                raise ValueError(f"{kind}: a stale threshold must be > 0 seconds")
        return value


class BillingSettings(BaseModel):
    """Billing: the rate card, tax, the simulated payment provider and mining revenue.

    Rates and multipliers are decimal strings in the environment
    (`HCP_BILLING__RATES_USD_PER_GPU_HOUR='{"H100": "2.50"}'`), never floats."""

    platform_name: str = "MARA Hybrid Compute Platform"
    currency: str = "USD"
    # Per GPU-hour of each GPU model; a workload's rate is this times its priority's multiplier.
    rates_usd_per_gpu_hour: dict[str, Decimal] = Field(
        default_factory=lambda: {"H100": Decimal("2.50"), "A100": Decimal("1.60")})
    # Priority (1-10) -> multiplier; priorities not listed pay 1.
    priority_multipliers: dict[int, Decimal] = Field(default_factory=lambda: {
        1: Decimal("0.80"), 2: Decimal("0.80"), 3: Decimal("0.80"), 8: Decimal("1.25"), 9: Decimal("1.25"),
        10: Decimal("1.50")})
    tax_rate: Decimal = Field(Decimal("0.0825"), ge=0, le=1)
    # Run the metering consumer and the monthly close in this process.
    run: bool = True
    close_interval_s: float = Field(3600.0, gt=0)
    payment_timeout_s: float = Field(10.0, gt=0)
    # Share of the block rewards the pool keeps (FPPS fee); the fleet earns the rest.
    pool_fee: Decimal = Field(Decimal("0.02"), ge=0, lt=1)
    # How often completed hours of mining are accrued from telemetry and market prices.
    mining_accrual_interval_s: float = Field(3600.0, gt=0)


class MetricsSettings(BaseModel):
    """Fleet aggregates: the `fleet.metrics` stream and the domain gauges of /metrics."""

    # Real seconds between two `fleet.metrics` events (and refreshes of the gauges read from the database).
    interval_s: float = Field(5.0, gt=0, le=3600)
    # Publish `fleet.metrics` from this process (one replica per deployment does, under a lock).
    publish: bool = True


class AlertSettings(BaseModel):
    """The alerts engine: which thresholds its rules apply beyond the health monitor's verdicts."""

    # Run the rules in this process (a durable consumer: replicas share the events).
    run: bool = True
    # A GPU switch slower than this raises an alert on its unit.
    switch_latency_ms: float = Field(500.0, gt=0)
    # Electricity above the break-even of a reference miner (J/TH) is a price spike.
    break_even_j_per_th: float = Field(17.5, gt=0)
    # How often the stale-market-feed rule and the open-alerts gauge are checked (real seconds).
    check_interval_s: float = Field(5.0, gt=0)


class RealtimeSettings(BaseModel):
    """WebSocket channels: per-client queue, replay buffer for `last_id`, heartbeats."""

    # Messages waiting for one client; a client this far behind is dropped, not buffered.
    client_queue: int = Field(1000, ge=1, le=1_000_000)
    # Recent messages held for clients that reconnect with `last_id`.
    replay_events: int = Field(10_000, ge=0, le=10_000_000)
    heartbeat_s: float = Field(15.0, gt=0)
    # Connections beyond this many are refused (closed with 1013, try again later).
    max_clients: int = Field(10_000, ge=1)
    # How often an open connection's credential is checked again: an expired token, a logout, a
    # revoked API key or a disabled user closes it (1008) within this long; a role change applies.
    recheck_s: float = Field(30.0, gt=0)
    alerts: AlertSettings = Field(default_factory=AlertSettings)


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
    economics: EconomicsSettings = Field(default_factory=EconomicsSettings)
    resources: ResourcesSettings = Field(default_factory=ResourcesSettings)
    market: MarketSettings = Field(default_factory=MarketSettings)
    orchestrator: OrchestratorSettings = Field(default_factory=OrchestratorSettings)
    realtime: RealtimeSettings = Field(default_factory=RealtimeSettings)
    billing: BillingSettings = Field(default_factory=BillingSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)

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
