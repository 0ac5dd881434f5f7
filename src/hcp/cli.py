"""The `hcp` command: run the platform (one process or split), migrate, seed, check health."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import httpx
import typer
import uvicorn
from pydantic import ValidationError

from hcp.core.settings import SERVICE_PORTS, Settings, UnsafeSettingsError

app = typer.Typer(help="HCP: the MARA Hybrid Compute Platform.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)

SPLIT_READY_TIMEOUT_S = 20.0
STOP_GRACE_S = 10.0


DEMO_DEMAND_ENV = "HCP_ORCHESTRATOR__DEMO_DEMAND"


def _load_settings(*, demo: bool | None = None) -> Settings:
    try:
        return Settings(demo=True) if demo else Settings()
    except ValidationError as exc:
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "settings"
            msg = str(err.get("ctx", {}).get("error", err["msg"]))
            typer.secho(f"hcp: invalid setting {field}: {msg}", fg="red", err=True)
        raise typer.Exit(2) from None


def _banner(settings: Settings, base_url: str, *, split: bool = False) -> None:
    lines = []
    if settings.demo:
        from hcp.demo import DEMO_LOGINS

        lines += [
            "=" * 72,
            "  DEMO MODE: public secret key, demo users and simulated hardware.",
            "  Never expose this to a network. Unset HCP_DEMO / --demo for production.",
            "=" * 72,
        ]
    lines += [
        f"HCP is up ({'split: one process per service' if split else 'one process'}).",
        f"  API docs    {base_url}/docs",
        f"  API         {base_url}/api/v1",
        f"  Health      {base_url}/health   Ready {base_url}/ready   Metrics {base_url}/metrics",
        f"  Database    {settings.database_url}",
        f"  Event bus   {settings.bus_url}",
    ]
    if settings.sim.speed != 1:
        lines.append(f"  Clock       simulated, {settings.sim.speed:g}x real time")
    if settings.demo:
        lines.append("  Demo logins:")
        lines += [f"    {role:<22} {email} / {pw}" for role, email, pw in DEMO_LOGINS]
    lines.append("Press Ctrl-C to stop.")
    typer.echo("\n".join(lines))


class _Server(uvicorn.Server):
    """uvicorn's server, but a Ctrl-C or SIGTERM that shut it down gracefully exits 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _require_safe(settings: Settings) -> None:
    try:
        settings.assert_safe_to_serve()
    except UnsafeSettingsError as exc:
        typer.secho(f"hcp: refusing to start: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None


def _serve(
    settings: Settings, *, service: str | None, host: str, port: int, announce: bool, with_login: bool = False
) -> None:
    from hcp.app import create_app

    _require_safe(settings)
    settings.server.host, settings.server.port, settings.server.service = host, port, service
    config = uvicorn.Config(
        create_app(settings, service=service, with_login=with_login), host=host, port=port, log_config=None,
        access_log=False, lifespan="on", timeout_graceful_shutdown=5, ws="websockets-sansio",
        # Messages are a few hundred bytes: compressing each for each of 1,000 clients costs more
        # than it saves (bench/ws_fanout.py).
        ws_per_message_deflate=False,
    )
    server = _Server(config)

    async def run() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():  # noqa: ASYNC110 - uvicorn has no "started" event
            await asyncio.sleep(0.02)
        if server.started and announce:
            _banner(settings, f"http://{host}:{port}")
        await task

    asyncio.run(run())
    if not server.started:
        raise typer.Exit(1)


@app.command()
def up(
    demo: Annotated[bool, typer.Option("--demo", help="Seed demo data and demo users; say so loudly.")] = False,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the single process (split: of the orchestrator).")] = 8080,
    speed: Annotated[float, typer.Option(min=0.001, help="Simulated time runs N times faster.")] = 1.0,
    split: Annotated[bool, typer.Option("--split", help="One process per service (PostgreSQL + NATS).")] = False,
) -> None:
    """Start the platform: everything on one port, or each service on its seed port (--split)."""
    settings = _load_settings(demo=demo or None)
    settings.sim.speed = speed
    if settings.demo and DEMO_DEMAND_ENV not in os.environ:
        # The demo customers keep submitting work; split mode's services read it from here.
        os.environ[DEMO_DEMAND_ENV] = "true"
        settings.orchestrator.demo_demand = True
    if split:
        _run_split(settings, host=host, port_offset=port - SERVICE_PORTS["orchestrator"])
        return
    _serve(settings, service=None, host=host, port=port, announce=True)


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help=f"One of: {', '.join(SERVICE_PORTS)}.")],
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Defaults to the service's seed port.")] = None,
) -> None:
    """Run one service of split mode in this process."""
    if service not in SERVICE_PORTS:
        typer.secho(f"hcp: unknown service {service!r}; one of {', '.join(SERVICE_PORTS)}",
                    fg="red", err=True)
        raise typer.Exit(2)
    settings = _load_settings()
    _serve(settings, service=service, host=host, port=port or SERVICE_PORTS[service], announce=False)


@app.command()
def sim(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the simulator API.")] = SERVICE_PORTS["simulator"],
    gpus: Annotated[int, typer.Option(min=0)] = 10,
    asics: Annotated[int, typer.Option(min=0)] = 20,
    seed: Annotated[int, typer.Option()] = 42,
    speed: Annotated[float, typer.Option(min=0.001)] = 1.0,
    subnet: Annotated[str, typer.Option(help="Loopback subnet of the simulated miners.")] = "127.0.1.0/24",
) -> None:
    """Run the hybrid simulator alone: its API on :8090, miners on their loopback addresses."""
    settings = _load_settings(demo=True)
    settings.sim.enabled = True
    settings.sim.gpus, settings.sim.asics, settings.sim.seed = gpus, asics, seed
    settings.sim.speed, settings.sim.asic_subnet = speed, subnet
    typer.echo(f"simulator: {gpus} GPUs, {asics} Antminer S21s on {subnet} (CGMiner API :4028), "
               f"API http://{host}:{port}/api/v1/sim/units")
    typer.echo("log in with a demo user at /api/v1/auth/login (ops@mara.com / operator123) to use the API")
    _serve(settings, service="simulator", host=host, port=port, announce=False, with_login=True)


def openapi_document() -> str:
    """The API's OpenAPI document as `hcp up` serves it (every domain, the simulator's routes
    included), in a stable form: the web console's client is generated from its committed copy."""
    import json

    from hcp.app import create_app

    document = create_app(Settings(demo=True)).openapi()
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@app.command()
def openapi(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write it here instead of stdout.")] = None,
) -> None:
    """Print the API's OpenAPI document (`hcp openapi -o web/openapi/openapi.json` refreshes the
    console's snapshot)."""
    text = openapi_document()
    if output is None:
        typer.echo(text, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output}")


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from hcp.core.db import Database
    from hcp.migrations import current_revision
    from hcp.migrations import migrate as run_migrations

    settings = _load_settings(demo=None)

    async def run() -> str | None:
        db = Database(settings.database_url)
        try:
            await run_migrations(db)
            return await current_revision(db)
        finally:
            await db.dispose()

    typer.echo(f"database at revision {asyncio.run(run())}")


@app.command()
def seed() -> None:
    """Load the demo data (facilities, customers, demo users); running it twice changes nothing."""
    from hcp.core.db import Database
    from hcp.demo import seed as seed_demo
    from hcp.migrations import migrate as run_migrations

    settings = _load_settings(demo=True)

    async def run() -> None:
        db = Database(settings.database_url)
        try:
            await run_migrations(db)
            await seed_demo(db)
        finally:
            await db.dispose()

    asyncio.run(run())
    typer.echo("demo data seeded")


@app.command()
def health(
    urls: Annotated[list[str] | None, typer.Argument(help="Base URLs; default http://127.0.0.1:8080.")] = None,
    split: Annotated[bool, typer.Option("--split", help="Check every service of split mode.")] = False,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
) -> None:
    """Check /health and /ready of running services; exit 1 if any is not ready."""
    targets = urls or ([f"http://{host}:{p}" for p in SERVICE_PORTS.values()] if split
                       else ["http://127.0.0.1:8080"])
    failed = False
    with httpx.Client(timeout=3.0) as client:
        for base in targets:
            base = base.rstrip("/")
            try:
                live = client.get(f"{base}/health")
                ready = client.get(f"{base}/ready")
                service = live.json().get("service", "?")
                ok = live.status_code == 200 and ready.status_code == 200
                detail = "ready" if ok else ready.json().get("error", {}).get("message", ready.text)
            except (httpx.HTTPError, ValueError) as exc:
                ok, service, detail = False, "?", f"unreachable ({type(exc).__name__})"
            failed |= not ok
            typer.echo(f"{'OK  ' if ok else 'FAIL'} {base:<28} {service:<13} {detail}")
    raise typer.Exit(1 if failed else 0)


@app.command()
def backtest(
    prices: Annotated[Path | None, typer.Option(
        help="Market CSV (.csv or .csv.gz, the format of the market simulator's CSV). "
             "Default: the shipped SYNTHETIC sample year.")] = None,
    fleet: Annotated[Path | None, typer.Option(help="Fleet YAML. Default: the demo fleet.")] = None,
    strategy: Annotated[list[str] | None, typer.Option(
        "--strategy", "-s",
        help="hybrid, mine-always, ai-first or price-threshold; repeat (or comma-separate) to "
             "compare. Default: all four.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="Start, ISO 8601 (UTC unless it has an offset).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="End (exclusive), ISO 8601.")] = None,
    threshold: Annotated[float | None, typer.Option(
        "--threshold-usd-per-mwh",
        help="price-threshold's strike price. Default: the fleet's break-even at the first step's hashprice.")] = None,
    exact: Annotated[bool, typer.Option(
        "--exact", help="hybrid: run the exact optimizer at every step (slow: small fleets, short periods).")] = False,
    asic_ramp_s: Annotated[float, typer.Option(
        "--asic-ramp-s", help="Seconds of revenue an ASIC start loses (its ramp).")] = 600.0,
    gpu_switch_s: Annotated[float, typer.Option(
        "--gpu-switch-s", help="Seconds of its new role's price a GPU's change of role loses.")] = 0.5,
    min_dwell_s: Annotated[float, typer.Option(
        "--min-dwell-s", help="hybrid keeps a count unless changing it gains more over this many seconds "
                              "than the switches it adds.")] = 900.0,
    out: Annotated[Path, typer.Option(help="Directory for backtest.json and backtest.html.")] = Path("var/backtest"),
) -> None:
    """Backtest strategies over a price history: print the comparison, write the report and plot."""
    from hcp.core.errors import InvalidInput
    from hcp.economics import backtest as bt
    from hcp.economics.backtest.report import format_table, write_report
    from hcp.kernel.prices import MarketCsvError

    def fail(message: str) -> typer.Exit:
        typer.secho(f"hcp backtest: {message}", fg="red", err=True)
        return typer.Exit(2)

    names = [n.strip() for s in (strategy or list(bt.STRATEGIES)) for n in s.split(",") if n.strip()]
    unknown = [n for n in names if n not in bt.STRATEGIES]
    if unknown or not names:
        raise fail(f"--strategy: unknown {', '.join(map(repr, unknown)) or 'none given'}; "
                   f"one of {', '.join(bt.STRATEGIES)}")

    def moment(option: str, text: str | None) -> datetime | None:
        if text is None:
            return None
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise fail(f"{option}: {text!r} is not an ISO 8601 date or time") from None
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    period = moment("--from", start), moment("--to", end)
    try:
        bt.check_seconds("--asic-ramp-s", asic_ramp_s, bt.MAX_ASIC_RAMP_S)
        bt.check_seconds("--gpu-switch-s", gpu_switch_s, bt.MAX_GPU_SWITCH_S)
        bt.check_seconds("--min-dwell-s", min_dwell_s, bt.MAX_MIN_DWELL_S)
        history = bt.sample_prices() if prices is None else bt.load_prices(prices)
        chosen = bt.select_period(history, *period, start_field="--from", end_field="--to")
        model = bt.build_model(bt.load_fleet(fleet or bt.SAMPLE_FLEET), chosen)
    except (MarketCsvError, bt.FleetFileError) as exc:
        raise fail(str(exc)) from None
    except InvalidInput as exc:
        raise fail(f"{fleet or bt.SAMPLE_FLEET}: {exc.message}" if not exc.message.startswith("--")
                   else exc.message) from None

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    # A bar on a terminal only: piped or captured output stays the table alone.
    bar = Progress(TextColumn("{task.description:<16}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(),
                   console=Console(stderr=True), transient=True, disable=not sys.stderr.isatty())
    tasks = {name: bar.add_task(name, total=len(chosen)) for name in dict.fromkeys(names)}
    with bar:
        result = bt.run_backtest(model, chosen, list(tasks), threshold_usd_per_mwh=threshold, exact=exact,
                                 asic_ramp_s=asic_ramp_s, gpu_switch_s=gpu_switch_s, min_dwell_s=min_dwell_s,
                                 progress=lambda name, done, _total: bar.update(tasks[name], completed=done))
    typer.echo(format_table(result))
    json_path, html_path = write_report(result, out)
    exact_note = "".join(f"; {o.strategy}: {o.exact_steps:,} step(s) by the exact optimizer"
                         for o in result.outcomes if o.exact_steps and not exact)
    typer.echo(f"\nRan in {result.elapsed_s:.2f} s{exact_note}.\nPlot and report: {html_path}\nData: {json_path}")


audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exit 1 naming the first entry that does not fit."""
    from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

    from hcp.auth.service import ChainReport, verify_audit_chain
    from hcp.core.db import Database

    settings = _load_settings(demo=None)

    async def run() -> ChainReport:
        db = Database(settings.database_url)
        try:
            async with db.session() as session:
                return await verify_audit_chain(session=session)
        finally:
            await db.dispose()

    try:
        report = asyncio.run(run())
    except (OperationalError, ProgrammingError, DBAPIError, OSError) as exc:
        typer.secho(f"hcp: cannot read the audit log ({type(exc).__name__}); is the database "
                    f"migrated (hcp migrate)?", fg="red", err=True)
        raise typer.Exit(2) from None
    if report.broken is not None:
        bad = report.broken
        typer.secho(f"audit log BROKEN at entry seq={bad.seq} id={bad.id}: {bad.reason} "
                    f"({report.checked} entries before it are intact)", fg="red", err=True)
        raise typer.Exit(1)
    typer.echo(f"audit log intact: {report.checked} entries, head {report.head[:16]}")


def _die_with_parent() -> None:
    # Children of split mode must not outlive `hcp up --split`, even if it is SIGKILLed.
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _run_split(settings: Settings, *, host: str, port_offset: int) -> None:
    _require_safe(settings)
    if not settings.database_url.startswith("postgresql"):
        typer.secho("hcp up --split needs PostgreSQL: set HCP_DATABASE_URL=postgresql+asyncpg://...",
                    fg="red", err=True)
        raise typer.Exit(2)
    if not settings.bus_url.startswith(("nats://", "tls://")):
        typer.secho("hcp up --split needs NATS JetStream: set HCP_BUS_URL=nats://host:4222",
                    fg="red", err=True)
        raise typer.Exit(2)

    from hcp.core.db import Database
    from hcp.demo import is_empty
    from hcp.demo import seed as seed_demo
    from hcp.migrations import migrate as run_migrations

    async def prepare() -> None:
        db = Database(settings.database_url)
        try:
            await run_migrations(db)
            if settings.demo and await is_empty(db):
                await seed_demo(db)
        finally:
            await db.dispose()

    asyncio.run(prepare())
    env = dict(os.environ)
    env["HCP_DEMO"] = "true" if settings.demo else "false"
    env["HCP_SIM__SPEED"] = str(settings.sim.speed)
    ports = {name: port + port_offset for name, port in SERVICE_PORTS.items()}
    children: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        for name, port in ports.items():
            children[name] = subprocess.Popen(
                [sys.executable, "-m", "hcp", "serve", name, "--host", host, "--port", str(port)],
                env=env, preexec_fn=_die_with_parent,
            )
        if _wait_split_ready(host, ports, children, lambda: stopping):
            _banner(settings, f"http://{host}:{ports['orchestrator']}", split=True)
            for name, port in ports.items():
                typer.echo(f"  {name:<13} http://{host}:{port}")
        while not stopping:
            dead = [n for n, p in children.items() if p.poll() is not None]
            if dead:
                typer.secho(f"hcp: service(s) exited: {', '.join(dead)}; stopping the rest",
                            fg="red", err=True)
                break
            time.sleep(0.2)
    finally:
        _stop_children(children)
    if not stopping:
        raise typer.Exit(1)


def _wait_split_ready(
    host: str, ports: dict[str, int], children: dict[str, subprocess.Popen[bytes]],
    stopping: Callable[[], bool],
) -> bool:
    deadline = time.monotonic() + SPLIT_READY_TIMEOUT_S
    pending = dict(ports)
    with httpx.Client(timeout=1.0) as client:
        while pending and time.monotonic() < deadline:
            if stopping():
                return False
            for name, port in list(pending.items()):
                if children[name].poll() is not None:
                    return False
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"http://{host}:{port}/ready").status_code == 200:
                        del pending[name]
            time.sleep(0.1)
    if pending:
        typer.secho(f"hcp: not ready after {SPLIT_READY_TIMEOUT_S:.0f} s: {', '.join(pending)}",
                    fg="red", err=True)
    return not pending


def _stop_children(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in children.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for proc in children.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
