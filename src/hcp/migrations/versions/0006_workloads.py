"""orchestrator: workloads, their state history, GPU switches

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hcp.core.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = hcp.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "workloads",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("gpu_model", sa.String(length=8), nullable=False),
        sa.Column("gpu_count", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("max_price_usd_per_gpu_hour", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("preemptible", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("units", sa.JSON(), nullable=False),
        sa.Column("facility_id", sa.String(length=64), nullable=True),
        sa.Column("submitted_at", UTC, nullable=False),
        sa.Column("queued_at", UTC, nullable=True),
        sa.Column("started_at", UTC, nullable=True),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("failure_reason", sa.String(length=500), nullable=True),
        sa.Column("preemptions", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("updated_at", UTC, nullable=False),
        sa.CheckConstraint(
            "status IN ('submitted', 'queued', 'scheduled', 'switching', 'running', 'completed', "
            "'failed', 'cancelled', 'preempted')", name=op.f("ck_workloads_status")),
        sa.CheckConstraint("type IN ('ai_inference', 'ai_training', 'batch')", name=op.f("ck_workloads_type")),
        sa.CheckConstraint("gpu_model IN ('H100', 'A100', 'any')", name=op.f("ck_workloads_gpu_model")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workloads")),
        sa.UniqueConstraint("tenant_id", "idempotency_key", name=op.f("uq_workloads_tenant_id")),
    )
    op.create_index(op.f("ix_workloads_tenant_id"), "workloads", ["tenant_id"])
    op.create_index(op.f("ix_workloads_status"), "workloads", ["status"])
    op.create_index("ix_workloads_submitted_at", "workloads", ["submitted_at"])
    op.create_table(
        "workload_events",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("workload_id", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_workload_events")),
    )
    op.create_index(op.f("ix_workload_events_workload_id"), "workload_events", ["workload_id"])
    op.create_table(
        "switches",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("workload_id", sa.String(length=32), nullable=True),
        sa.Column("from_workload", sa.String(length=32), nullable=True),
        sa.Column("to_workload", sa.String(length=32), nullable=True),
        sa.Column("phases", sa.JSON(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_switches")),
    )
    op.create_index(op.f("ix_switches_unit_id"), "switches", ["unit_id"])
    op.create_index(op.f("ix_switches_workload_id"), "switches", ["workload_id"])
    op.create_index(op.f("ix_switches_at"), "switches", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_switches_at"), table_name="switches")
    op.drop_index(op.f("ix_switches_workload_id"), table_name="switches")
    op.drop_index(op.f("ix_switches_unit_id"), table_name="switches")
    op.drop_table("switches")
    op.drop_index(op.f("ix_workload_events_workload_id"), table_name="workload_events")
    op.drop_table("workload_events")
    op.drop_index("ix_workloads_submitted_at", table_name="workloads")
    op.drop_index(op.f("ix_workloads_status"), table_name="workloads")
    op.drop_index(op.f("ix_workloads_tenant_id"), table_name="workloads")
    op.drop_table("workloads")
