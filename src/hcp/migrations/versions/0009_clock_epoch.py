"""core: where simulated time stands, so that it continues across restarts

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clock_epoch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wall_at", sa.Float(), nullable=False),
        sa.Column("sim_at", sa.Float(), nullable=False),
        sa.Column("speed", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clock_epoch")),
    )


def downgrade() -> None:
    op.drop_table("clock_epoch")
