"""Tables of the resource manager: facilities, the power envelopes everything else fits in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from hcp.core.db import Base, UTCDateTime, utcnow


class Facility(Base):
    __tablename__ = "facilities"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(200))
    # The grid connection's limit: the sum of every unit's power in the facility stays under it.
    power_cap_kw: Mapped[float] = mapped_column(Float)
    # Where the facility buys power (an ERCOT hub, a MISO node): the price series it follows.
    market_node: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
