"""What the simulator domain runs: the digital twin (GPUs, ASICs on the network, the market)."""

from __future__ import annotations

from hcp.core.component import OK, Component
from hcp.core.metrics import REGISTRY
from hcp.core.platform import Platform
from hcp.sim.hybrid import HybridSimulator
from hcp.sim.site import FACILITIES


def build_simulator(platform: Platform) -> HybridSimulator:
    s = platform.settings.sim
    return HybridSimulator(
        clock=platform.clock, facilities=[(f.id, f.market_node) for f in FACILITIES],
        gpus=s.gpus, asics=s.asics, asic_models=s.asic_models(demo=platform.settings.demo),
        seed=s.seed, luxos_every=s.luxos_every,
        asic_subnet=s.asic_subnet, asic_rpc_port=s.asic_rpc_port, asic_web_port=s.asic_web_port,
        tick_s=s.tick_s, telemetry_interval_s=s.telemetry_interval_s,
        market_interval_s=s.market_interval_s, registry=REGISTRY,
    )


class Simulator:
    """The digital twin of this process: `sim` once started, publishing on the platform's bus."""

    name = "simulator"

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.sim: HybridSimulator | None = None

    async def start(self) -> None:
        sim = build_simulator(self.platform)
        await sim.start(bus=self.platform.bus)
        self.sim = sim

    async def stop(self) -> None:
        if self.sim is not None:
            sim, self.sim = self.sim, None
            await sim.stop()

    def health(self) -> str:
        return OK if self.sim is not None else "stopped"


def components(platform: Platform) -> list[Component]:
    return [Simulator(platform)] if platform.settings.sim.enabled else []
