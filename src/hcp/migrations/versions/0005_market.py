"""market: price history and the latest price of each series

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hcp.core.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = hcp.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "market_prices",
        sa.Column("series", sa.String(length=96), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("received_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("series", "ts_ms", "source", name=op.f("pk_market_prices")),
    )
    op.create_index("ix_market_prices_ts", "market_prices", ["ts_ms"])
    op.create_table(
        "market_latest",
        sa.Column("series", sa.String(length=96), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("received_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("series", name=op.f("pk_market_latest")),
    )


def downgrade() -> None:
    op.drop_table("market_latest")
    op.drop_index("ix_market_prices_ts", table_name="market_prices")
    op.drop_table("market_prices")
