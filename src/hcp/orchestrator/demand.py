"""Demo demand: in demo mode the demo customers keep submitting realistic workloads, so the
platform is alive when opened (15 active across the three customers, Acme with 5).

Submissions go through the same `service.submit` as the API (admission, budget and all), on
behalf of each customer's demo user, and only where this process leads the workload loop."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from decimal import Decimal

import structlog
from sqlalchemy import func, select

from hcp.auth import service as auth
from hcp.core.component import tasks_health
from hcp.core.errors import HCPError
from hcp.core.platform import Platform
from hcp.core.security import Principal
from hcp.core.tasks import cancel_tasks
from hcp.kernel.enums import GpuModelChoice, WorkloadType
from hcp.orchestrator import service
from hcp.orchestrator.lifecycle import ACTIVE
from hcp.orchestrator.loop import loop_of
from hcp.orchestrator.models import Workload

log = structlog.get_logger(__name__)

SYSTEM = Principal(id="demo-demand", email="demo-demand@hcp.local", role="admin", tenant_id=None,
                   scopes=frozenset())


@dataclass(frozen=True)
class Template:
    """One kind of work a customer runs, with the spread of its size and length."""

    name: str
    type: WorkloadType
    gpu_model: GpuModelChoice
    gpu_counts: tuple[int, ...]
    hours: tuple[float, float]
    priorities: tuple[int, ...]
    max_price_usd_per_gpu_hour: str | None = None


CATALOGUE: dict[str, tuple[Template, ...]] = {
    "acme": (
        Template("llama-3-70b-finetune", WorkloadType.AI_TRAINING, GpuModelChoice.H100, (2, 2, 1), (2.0, 6.0), (6, 7)),
        Template("support-bot-inference", WorkloadType.AI_INFERENCE, GpuModelChoice.H100, (1,), (0.5, 1.5), (8, 9)),
        Template("product-embeddings", WorkloadType.BATCH, GpuModelChoice.A100, (1,), (0.3, 1.0), (3, 4)),
    ),
    "globex": (
        Template("protein-fold-sweep", WorkloadType.BATCH, GpuModelChoice.A100, (1, 1, 2), (0.5, 2.0), (2, 3, 4),
                 "1.90"),
        Template("genomics-transformer", WorkloadType.AI_TRAINING, GpuModelChoice.H100, (2, 1), (3.0, 8.0), (5, 6)),
        Template("lab-assistant-inference", WorkloadType.AI_INFERENCE, GpuModelChoice.ANY, (1,), (0.5, 1.0), (7, 8)),
    ),
    "initech": (
        Template("fraud-model-retrain", WorkloadType.AI_TRAINING, GpuModelChoice.H100, (1,), (1.0, 4.0), (5,)),
        Template("invoice-ocr-batch", WorkloadType.BATCH, GpuModelChoice.A100, (1,), (0.25, 1.0), (2, 3)),
        Template("chat-inference", WorkloadType.AI_INFERENCE, GpuModelChoice.H100, (1,), (0.5, 2.0), (7, 8, 9)),
    ),
}


class DemoDemand:
    def __init__(self, platform: Platform, *, seed: int = 7) -> None:
        self.platform = platform
        self.settings = platform.settings.orchestrator
        self.rng = random.Random(seed)
        self.submitted = 0
        self._task: asyncio.Task[None] | None = None

    name = "demo-demand"

    def health(self) -> str:
        return tasks_health([self._task]) if self._task is not None else "stopped"

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="orchestrator-demo-demand")

    async def stop(self) -> None:
        await cancel_tasks([self._task] if self._task else [])
        self._task = None

    async def _run(self) -> None:
        while True:
            try:
                loop = loop_of(self.platform)
                if loop is None or loop.leading:
                    await self.top_up()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("demo demand round failed", exc_info=True)
            await asyncio.sleep(self.settings.demo_demand_interval_s)

    async def top_up(self) -> int:
        """Submit what each demo customer lacks of its target of active workloads."""
        made = 0
        async with self.platform.db.read() as session:
            tenants, _ = await auth.list_tenants(session=session, principal=SYSTEM, limit=1000, offset=0)
            gangs = await service.largest_gang(session=session)
            counts = dict((await session.execute(
                select(Workload.tenant_id, func.count()).where(Workload.status.in_(ACTIVE))
                .group_by(Workload.tenant_id))).all())
        if not gangs:
            return 0  # no GPUs registered yet
        for tenant in tenants:
            target = self.settings.demo_active.get(tenant.slug)
            templates = CATALOGUE.get(tenant.slug)
            if not target or not templates:
                continue
            for _ in range(max(0, target - int(counts.get(tenant.id, 0)))):
                if await self._submit(tenant.id, self.rng.choice(templates), gangs):
                    made += 1
        if made:
            self.submitted += made
            loop = loop_of(self.platform)
            if loop is not None:
                loop.wake()
        return made

    async def _submit(self, tenant_id: str, t: Template, gangs: dict[str, int]) -> bool:
        models = service.GPU_MODELS if t.gpu_model == GpuModelChoice.ANY else (t.gpu_model,)
        most = max((gangs.get(m, 0) for m in models), default=0)
        if most == 0:
            return False
        submission = service.Submission(
            name=f"{t.name}-{self.rng.randrange(16**4):04x}", type=t.type,
            priority=self.rng.choice(t.priorities), gpu_model=t.gpu_model,
            gpu_count=min(self.rng.choice(t.gpu_counts), most),
            duration_s=round(self.rng.uniform(*t.hours) * 3600.0),
            max_price_usd_per_gpu_hour=None if t.max_price_usd_per_gpu_hour is None
            else Decimal(t.max_price_usd_per_gpu_hour),
            preemptible=None,
        )
        try:
            async with self.platform.db.transaction() as session:
                await service.submit(session=session, settings=self.platform.settings, tenant_id=tenant_id,
                                     submission=submission, created_by=None, at=self.platform.clock.now())
        except HCPError as exc:  # over budget, say: the customer waits like a real one would
            log.info("demo workload not admitted", tenant_id=tenant_id, reason=str(exc))
            return False
        return True
