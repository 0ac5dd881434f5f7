"""What the auth domain does at start: make sure the bootstrap admin exists (idempotent)."""

from __future__ import annotations

from hcp.auth import service
from hcp.core.component import OK, Component
from hcp.core.platform import Platform


class BootstrapAdmin:
    """Creates the admin named by HCP_AUTH__BOOTSTRAP_* on start, if it does not exist yet."""

    name = "bootstrap-admin"

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    async def start(self) -> None:
        await service.ensure_bootstrap_admin(db=self.platform.db, settings=self.platform.settings)

    async def stop(self) -> None:
        return None

    def health(self) -> str:
        return OK


def components(platform: Platform) -> list[Component]:
    return [BootstrapAdmin(platform)]
