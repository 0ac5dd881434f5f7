"""The hybrid simulator: the demo's whole digital twin (GPUs, ASICs, market) on one clock.

It owns the fleets' state arrays and advances them together, serves the simulated miners on
their loopback addresses (so the platform reaches them over the CGMiner API like real ones),
and publishes `unit.telemetry`, `switch.done` and `market.tick` on the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import structlog
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from hcp.core.bus import Bus
from hcp.core.clock import Clock
from hcp.core.tasks import cancel_tasks
from hcp.kernel import events
from hcp.sim.asic.device import DEFAULT_MODEL, AsicFleet, Fault, Firmware, model_of
from hcp.sim.asic.server import RunningMiners, start_miners
from hcp.sim.gpu import GpuFault, GpuFleet, SwitchRecord
from hcp.sim.market import MarketSimulator, MarketTick

log = structlog.get_logger(__name__)

ASIC_FAULTS = {str(f.name).lower(): f for f in Fault}
GPU_FAULTS = {f.name.lower(): f for f in GpuFault}
# Per-unit gauges for fleets up to this size; beyond it only fleet totals (label cardinality).
PER_UNIT_METRICS_MAX = 1000
TELEMETRY_BATCH = 1000


class UnknownUnit(KeyError):
    pass


class NotAGpu(ValueError):
    def __init__(self, unit_id: str) -> None:
        super().__init__(f"{unit_id} is an ASIC; only GPUs switch workloads")


class UnsupportedFault(ValueError):
    def __init__(self, kind: str, fault: str) -> None:
        options = sorted(ASIC_FAULTS if kind == "asic" else GPU_FAULTS)
        super().__init__(f"{fault!r} is not a fault of a {kind}; one of {', '.join(options)}")


@dataclass(frozen=True)
class SimUnit:
    id: str
    kind: str  # "gpu" | "asic"
    model: str
    index: int  # row in its fleet's arrays
    facility_id: str
    address: str | None = None  # the miner's loopback IP (ASICs)


def asic_addresses(subnet: str, count: int) -> list[str]:
    """The first `count` host addresses of `subnet` (127.0.1.0/24 -> 127.0.1.1, ...)."""
    network = ipaddress.ip_network(subnet, strict=False)
    hosts = network.hosts()
    addresses = []
    for _ in range(count):
        try:
            addresses.append(str(next(hosts)))
        except StopIteration:
            raise ValueError(f"{subnet} has room for {len(addresses)} miners, not {count}") from None
    return addresses


class HybridSimulator:
    def __init__(
        self,
        *,
        clock: Clock,
        facilities: Sequence[tuple[str, str]],
        gpus: int = 10,
        asics: int = 20,
        asic_models: Mapping[str, int] | None = None,
        seed: int = 42,
        gpu_models: Sequence[str] = ("H100", "H100", "A100"),
        luxos_every: int = 4,
        asic_subnet: str | None = "127.0.1.0/24",
        asic_rpc_port: int = 4028,
        asic_web_port: int = 80,
        tick_s: float = 1.0,
        telemetry_interval_s: float = 10.0,
        market_interval_s: float = 60.0,
        registry: CollectorRegistry | None = None,
    ) -> None:
        if not facilities:
            raise ValueError("the simulator needs at least one facility")
        self.clock = clock
        self.tick_s, self.telemetry_interval_s = tick_s, telemetry_interval_s
        self.market_interval_s = market_interval_s
        facility_ids = [f for f, _ in facilities]
        self.units: dict[str, SimUnit] = {}
        self.gpu: GpuFleet | None = None
        self.asic: AsicFleet | None = None
        if gpus:
            models = [gpu_models[i % len(gpu_models)] for i in range(gpus)]
            ids = [f"gpu-{i + 1:03d}" for i in range(gpus)]
            self.gpu = GpuFleet(models, seed=seed, unit_ids=ids)
            for i, uid in enumerate(ids):
                self.units[uid] = SimUnit(uid, "gpu", models[i], i, facility_ids[i % len(facility_ids)])
        self.asic_addresses: list[str] = []
        # `asics` S21s (every `luxos_every`-th on LuxOS), then the other models, each on its firmware.
        models = [DEFAULT_MODEL] * asics
        for key, count in (asic_models or {}).items():
            model_of(key)  # an unknown model fails here, by name
            models += [key] * count
        if models:
            firmware: list[str | Firmware] = [
                "luxos" if luxos_every and i % luxos_every == luxos_every - 1 else "stock" for i in range(asics)
            ]
            firmware += [model_of(key).firmware for key in models[asics:]]
            self.asic = AsicFleet(len(models), seed=seed + 1, firmware=firmware, models=models)
            if asic_subnet:
                self.asic_addresses = asic_addresses(asic_subnet, len(models))
            for i in range(len(models)):
                uid = f"asic-{i + 1:03d}"
                address = self.asic_addresses[i] if self.asic_addresses else None
                self.units[uid] = SimUnit(uid, "asic", self.asic.model(i).label, i,
                                          facility_ids[i % len(facility_ids)], address)
        self.market = MarketSimulator(seed=seed + 2, facilities=list(facilities),
                                      start=clock.now())
        self.last_tick: MarketTick = self.market.current()
        self.asic_rpc_port, self.asic_web_port = asic_rpc_port, asic_web_port
        self.miners: RunningMiners | None = None
        self._bus: Bus | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._since_telemetry = 0.0
        self._since_market = 0.0
        self._last_time = clock.time()
        self.registry = registry
        self.switch_latency = Histogram(
            "hcp_sim_switch_latency_seconds", "Simulated GPU workload switch latency",
            buckets=(0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 1.0), registry=None,
        )
        self._collector = _SimCollector(self)
        if registry is not None:
            registry.register(self._collector)

    # --- lifecycle ------------------------------------------------------------------------------
    async def start(self, *, bus: Bus | None = None, serve_miners: bool = True) -> None:
        """Open the miners' network servers and start the tick, telemetry and market loops."""
        self._bus = bus
        if serve_miners and self.asic is not None and self.asic_addresses:
            await self._serve_miners()
        self._last_time = self.clock.time()
        self._tasks.append(asyncio.create_task(self._run(), name="sim-hybrid"))
        if bus is not None:
            await self._publish_market(self.last_tick)

    async def _serve_miners(self) -> None:
        assert self.asic is not None
        # Port 80 needs privileges; without them each miner's web UI takes a free port
        # (pyasic's web client has a per-miner port setting).
        self.miners = await start_miners(
            self.asic, self.asic_addresses, rpc_port=self.asic_rpc_port,
            web_port=self.asic_web_port, web_fallback_port=0, clock=self.clock,
        )
        log.info("simulated miners listening", count=len(self.asic_addresses),
                 first=self.asic_addresses[0], rpc_port=self.asic_rpc_port,
                 web_ports=sorted(set(self.miners.web_ports.values())))

    async def stop(self) -> None:
        await cancel_tasks(self._tasks)
        self._tasks.clear()
        if self.miners is not None:
            await self.miners.close()
            self.miners = None
        if self.registry is not None:
            with contextlib.suppress(KeyError):
                self.registry.unregister(self._collector)

    async def _run(self) -> None:
        while True:
            # At high clock speeds, take bigger steps rather than more of them (<= 20 per second).
            await self.clock.sleep(max(self.tick_s, self.clock.speed * 0.05))
            now = self.clock.time()
            dt, self._last_time = now - self._last_time, now
            try:
                await self.advance(dt)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("simulator tick failed")

    async def advance(self, dt_s: float) -> None:
        """Advance every fleet and the market by `dt_s` simulated seconds; publish what is due."""
        if dt_s <= 0:
            return
        self.step(dt_s)
        self._since_telemetry += dt_s
        self._since_market += dt_s
        if self._since_market >= self.market_interval_s:
            self.last_tick = self.market.step(self._since_market)
            self._since_market = 0.0
            await self._publish_market(self.last_tick)
        if self._since_telemetry >= self.telemetry_interval_s:
            self._since_telemetry = 0.0
            if self._bus is not None:
                for batch in self.telemetry_batches():
                    await self._bus.emit(events.UnitTelemetry.model_validate({"units": batch}), ts=self.clock.now())

    def step(self, dt_s: float) -> None:
        """The physics alone: vectorised over every unit, no I/O."""
        if self.gpu is not None:
            self.gpu.tick(dt_s)
        if self.asic is not None:
            self.asic.tick(dt_s)

    async def _publish_market(self, tick: MarketTick) -> None:
        if self._bus is not None:
            await self._bus.emit(events.MarketTick.model_validate(tick.to_event()), ts=tick.ts)

    # --- views ----------------------------------------------------------------------------------
    def unit(self, unit_id: str) -> SimUnit:
        try:
            return self.units[unit_id]
        except KeyError:
            raise UnknownUnit(unit_id) from None

    def describe(self, unit_id: str) -> dict[str, Any]:
        u = self.unit(unit_id)
        base: dict[str, Any] = {"id": u.id, "kind": u.kind, "model": u.model, "facility_id": u.facility_id}
        if u.kind == "gpu":
            assert self.gpu is not None
            state = self.gpu.state(u.index)
            online = state["available"]
            base.update(
                status="switching" if state["switching"] else ("online" if online else "offline"),
                mode="workload" if state["workload"] else "idle",
                workload=state["workload"], workload_type=state["workload_type"],
                faults=[f.lower() for f in state["faults"]], throttled=state["throttled"],
                telemetry=self.gpu.telemetry(u.index) if online else None,
            )
            return base
        assert self.asic is not None
        snap = self.asic.snapshot(u.index)
        base.update(
            address=u.address, firmware=snap["firmware"],
            status="online" if snap["reachable"] else "offline", mode=snap["mode"],
            faults=[name.lower() for name in snap["fault_names"]],
            hashrate_ths=round(snap["hashrate_ths"], 3), power_w=round(snap["power_w"], 1),
            power_target_w=snap["power_target_w"],
            board_temp_c=[round(t, 1) for t in snap["board_temp_c"]],
            chip_temp_c=[round(t, 1) for t in snap["chip_temp_c"]],
            fan_rpm=[round(f) for f in snap["fan_rpm"]], mac=snap["mac"], hostname=snap["hostname"],
        )
        return base

    def describe_all(self, *, kind: str | None = None) -> list[dict[str, Any]]:
        return [self.describe(uid) for uid, u in self.units.items() if kind is None or u.kind == kind]

    def telemetry_batches(self) -> Iterable[list[dict[str, Any]]]:
        """Every unit's current reading, in batches (one event each), built from the arrays."""
        rows: list[dict[str, Any]] = []
        if self.gpu is not None:
            arrays = self.gpu.telemetry_arrays()
            names = list(arrays)
            matrix = np.column_stack([arrays[n] for n in names]).round(3).tolist()
            for uid, u in self.units.items():
                if u.kind == "gpu":
                    values = matrix[u.index]
                    reading = None if np.isnan(values[0]) else dict(zip(names, values, strict=True))
                    rows.append({"unit_id": uid, "kind": "gpu", "online": reading is not None,
                                 "metrics": reading})
        if self.asic is not None:
            a = self.asic
            hashrate, power = a.hashrate_ths.round(3).tolist(), a.power_w.round(1).tolist()
            chip = a.chip_temp_c.max(axis=1).round(1).tolist()
            board = a.board_temp_c.mean(axis=1).round(1).tolist()
            fans = a.fan_rpm.min(axis=1).round(0).tolist()
            reachable, mode = a.reachable.tolist(), a.mode.tolist()
            for uid, u in self.units.items():
                if u.kind == "asic":
                    i = u.index
                    rows.append({"unit_id": uid, "kind": "asic", "online": reachable[i], "metrics": {
                        "hashrate_ths": hashrate[i], "power_w": power[i], "chip_temp_c": chip[i],
                        "board_temp_c": board[i], "fan_min_rpm": fans[i], "work_mode": mode[i]}})
        for start in range(0, len(rows), TELEMETRY_BATCH):
            yield rows[start:start + TELEMETRY_BATCH]

    # --- commands -------------------------------------------------------------------------------
    def inject_fault(self, unit_id: str, fault: str) -> None:
        u = self.unit(unit_id)
        if u.kind == "asic":
            if fault not in ASIC_FAULTS:
                raise UnsupportedFault("asic", fault)
            assert self.asic is not None
            self.asic.inject_fault(u.index, ASIC_FAULTS[fault])
        else:
            if fault not in GPU_FAULTS:
                raise UnsupportedFault("gpu", fault)
            assert self.gpu is not None
            self.gpu.inject_fault(u.index, GPU_FAULTS[fault])

    def clear_fault(self, unit_id: str, fault: str | None = None) -> None:
        u = self.unit(unit_id)
        if u.kind == "asic":
            if fault is not None and fault not in ASIC_FAULTS:
                raise UnsupportedFault("asic", fault)
            assert self.asic is not None
            self.asic.clear_fault(u.index, ASIC_FAULTS[fault] if fault else None)
        else:
            if fault is not None and fault not in GPU_FAULTS:
                raise UnsupportedFault("gpu", fault)
            assert self.gpu is not None
            self.gpu.clear_fault(u.index, GPU_FAULTS[fault] if fault else None)

    async def switch(self, unit_id: str, workload: str | None, *, workload_type: str | None = None) -> SwitchRecord:
        u = self.unit(unit_id)
        if u.kind != "gpu":
            raise NotAGpu(unit_id)
        assert self.gpu is not None
        record = await self.gpu.switch(u.index, workload, clock=self.clock, workload_type=workload_type)
        self.switch_latency.observe(record.latency_ms / 1000)
        if self._bus is not None:
            await self._bus.emit(events.SwitchDone.model_validate(record.to_dict()), ts=self.clock.now())
        return record

    def switching_stats(self) -> dict[str, Any]:
        if self.gpu is None:
            return {"count": 0, "min_ms": None, "p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
        return self.gpu.switching_stats()


class _SimCollector(Collector):
    """Gauges read from the fleet arrays at scrape time: nothing is stored per tick."""

    def __init__(self, sim: HybridSimulator) -> None:
        self.sim = sim

    def collect(self) -> Iterable[Any]:
        sim = self.sim
        total_power = GaugeMetricFamily("hcp_sim_fleet_power_watts", "Power drawn by the simulated fleet",
                                        labels=["kind"])
        hashrate = GaugeMetricFamily("hcp_sim_fleet_hashrate_ths", "Hashrate of the simulated ASICs (TH/s)")
        units = GaugeMetricFamily("hcp_sim_units", "Simulated units", labels=["kind"])
        if sim.asic is not None:
            total_power.add_metric(["asic"], float(sim.asic.power_w.sum()))
            hashrate.add_metric([], float(sim.asic.hashrate_ths.sum()))
            units.add_metric(["asic"], sim.asic.n)
        if sim.gpu is not None:
            gpu_arrays = sim.gpu.telemetry_arrays()
            total_power.add_metric(["gpu"], float(np.nansum(gpu_arrays["DCGM_FI_DEV_POWER_USAGE"])))
            units.add_metric(["gpu"], len(sim.gpu))
        yield from (total_power, hashrate, units)
        if len(sim.units) > PER_UNIT_METRICS_MAX:
            return
        power = GaugeMetricFamily("hcp_sim_unit_power_watts", "Power of one simulated unit",
                                  labels=["unit", "kind", "model", "facility"])
        temp = GaugeMetricFamily("hcp_sim_unit_temperature_celsius",
                                 "Hottest chip (ASIC) or GPU die temperature", labels=["unit", "kind"])
        unit_hash = GaugeMetricFamily("hcp_sim_unit_hashrate_ths", "Hashrate of one simulated ASIC",
                                      labels=["unit"])
        util = GaugeMetricFamily("hcp_sim_gpu_utilization_percent", "GPU utilisation (DCGM_FI_DEV_GPU_UTIL)",
                                 labels=["unit", "model"])
        up = GaugeMetricFamily("hcp_sim_unit_up", "1 if the unit answers", labels=["unit", "kind"])
        gpu_arrays = sim.gpu.telemetry_arrays() if sim.gpu is not None else {}
        chip = sim.asic.chip_temp_c.max(axis=1) if sim.asic is not None else None
        for uid, u in sim.units.items():
            if u.kind == "gpu":
                w = gpu_arrays["DCGM_FI_DEV_POWER_USAGE"][u.index]
                online = not np.isnan(w)
                up.add_metric([uid, "gpu"], 1.0 if online else 0.0)
                if online:
                    power.add_metric([uid, "gpu", u.model, u.facility_id], float(w))
                    temp.add_metric([uid, "gpu"], float(gpu_arrays["DCGM_FI_DEV_GPU_TEMP"][u.index]))
                    util.add_metric([uid, u.model], float(gpu_arrays["DCGM_FI_DEV_GPU_UTIL"][u.index]))
            else:
                assert sim.asic is not None and chip is not None
                up.add_metric([uid, "asic"], 1.0 if sim.asic.reachable[u.index] else 0.0)
                power.add_metric([uid, "asic", u.model, u.facility_id], float(sim.asic.power_w[u.index]))
                temp.add_metric([uid, "asic"], float(chip[u.index]))
                unit_hash.add_metric([uid], float(sim.asic.hashrate_ths[u.index]))
        yield from (power, temp, unit_hash, util, up)
        yield from sim.switch_latency.collect()
