"""HTTP routes of the auth domain, mounted under /api/v1."""

from hcp.core.routing import domain_router

router = domain_router("auth")
