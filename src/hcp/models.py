"""Every table of every domain, imported in one place so Alembic sees the whole schema."""

from hcp.alerts import models as alerts_models
from hcp.auth import models as auth_models
from hcp.billing import models as billing_models
from hcp.core import outbox as core_outbox
from hcp.core import platform as core_platform
from hcp.core.db import Base
from hcp.economics import models as economics_models
from hcp.market import models as market_models
from hcp.orchestrator import models as orchestrator_models
from hcp.resources import models as resources_models

metadata = Base.metadata

__all__ = [
    "alerts_models", "auth_models", "billing_models", "core_outbox", "core_platform", "economics_models",
    "market_models", "metadata", "orchestrator_models", "resources_models",
]
