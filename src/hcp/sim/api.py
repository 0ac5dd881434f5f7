"""HTTP routes of the sim domain, mounted under /api/v1."""

from hcp.core.routing import domain_router

router = domain_router("sim")
