"""HTTP routes of the orchestrator domain, mounted under /api/v1."""

from hcp.core.routing import domain_router

router = domain_router("orchestrator")
