"""HTTP routes of the market domain, mounted under /api/v1."""

from hcp.core.routing import domain_router

router = domain_router("market")
