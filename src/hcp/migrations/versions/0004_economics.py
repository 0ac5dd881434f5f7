"""economics: fleet plans and demand-response windows

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hcp.core.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "economics_plans",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("ts", hcp.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("objective_usd_per_hour", sa.Float(), nullable=False),
        sa.Column("optimum_usd_per_hour", sa.Float(), nullable=False),
        sa.Column("hashprice_usd_per_th_day", sa.Float(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("decisions", sa.JSON(), nullable=False),
        sa.Column("recommendations", sa.JSON(), nullable=False),
        sa.Column("last_change", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_economics_plans")),
    )
    op.create_index("ix_economics_plans_ts", "economics_plans", ["ts"], unique=False)
    op.create_table(
        "economics_demand_response",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("facility_id", sa.String(length=64), nullable=False),
        sa.Column("power_cap_kw", sa.Float(), nullable=False),
        sa.Column("starts_at", hcp.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", hcp.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", hcp.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_economics_demand_response")),
    )
    op.create_index(op.f("ix_economics_demand_response_facility_id"), "economics_demand_response",
                    ["facility_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_economics_demand_response_facility_id"), table_name="economics_demand_response")
    op.drop_table("economics_demand_response")
    op.drop_index("ix_economics_plans_ts", table_name="economics_plans")
    op.drop_table("economics_plans")
