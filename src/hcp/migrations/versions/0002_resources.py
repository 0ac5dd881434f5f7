"""resources: racks, units, telemetry samples and rollups, allocations

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hcp.core.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = hcp.core.db.UTCDateTime(timezone=True)
ACTIVE = sa.text("released_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "racks",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("facility_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("power_cap_kw", sa.Float(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["facility_id"], ["facilities.id"], name=op.f("fk_racks_facility_id_facilities"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_racks")),
    )
    op.create_index(op.f("ix_racks_facility_id"), "racks", ["facility_id"])

    op.create_table(
        "units",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("identity", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("driver", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=True),
        sa.Column("driver_options", sa.JSON(), nullable=False),
        sa.Column("facility_id", sa.String(length=64), nullable=True),
        sa.Column("rack_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("health", sa.String(length=16), nullable=False),
        sa.Column("health_reasons", sa.JSON(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("hashrate_ths", sa.Float(), nullable=True),
        sa.Column("memory_mib", sa.Integer(), nullable=True),
        sa.Column("power_w", sa.Float(), nullable=True),
        sa.Column("mac", sa.String(length=17), nullable=True),
        sa.Column("serial", sa.String(length=100), nullable=True),
        sa.Column("hostname", sa.String(length=255), nullable=True),
        sa.Column("firmware", sa.String(length=100), nullable=True),
        sa.Column("capabilities", sa.JSON(), nullable=False),
        sa.Column("reading", sa.JSON(), nullable=False),
        sa.Column("reading_at", UTC, nullable=True),
        sa.Column("last_seen_at", UTC, nullable=True),
        sa.Column("missed_polls", sa.Integer(), nullable=False),
        sa.Column("workload_id", sa.String(length=64), nullable=True),
        sa.Column("registered_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.CheckConstraint("kind IN ('gpu', 'asic')", name=op.f("ck_units_kind")),
        sa.CheckConstraint("status IN ('online', 'offline', 'maintenance', 'switching')", name=op.f("ck_units_status")),
        sa.CheckConstraint("health IN ('ok', 'warning', 'critical')", name=op.f("ck_units_health")),
        sa.CheckConstraint("mode IN ('mining', 'curtailed', 'workload', 'spot', 'idle', 'unknown')",
                           name=op.f("ck_units_mode")),
        sa.ForeignKeyConstraint(["facility_id"], ["facilities.id"], name=op.f("fk_units_facility_id_facilities"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["rack_id"], ["racks.id"], name=op.f("fk_units_rack_id_racks"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("identity", name=op.f("uq_units_identity")),
    )
    for column in ("address", "facility_id", "kind", "model", "rack_id", "status"):
        op.create_index(op.f(f"ix_units_{column}"), "units", [column])

    op.create_table(
        "telemetry_samples",
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("metric", sa.String(length=48), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("unit_id", "metric", "ts_ms", name=op.f("pk_telemetry_samples")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_telemetry_samples_ts", "telemetry_samples", ["ts_ms"])

    op.create_table(
        "telemetry_rollups",
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("metric", sa.String(length=48), nullable=False),
        sa.Column("minute_ms", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("sum", sa.Float(), nullable=False),
        sa.Column("min", sa.Float(), nullable=False),
        sa.Column("max", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("unit_id", "metric", "minute_ms", name=op.f("pk_telemetry_rollups")),
    )
    op.create_index("ix_telemetry_rollups_minute", "telemetry_rollups", ["minute_ms"])

    op.create_table(
        "allocations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("workload_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=True),
        sa.Column("allocated_at", UTC, nullable=False),
        sa.Column("expected_end_at", UTC, nullable=True),
        sa.Column("released_at", UTC, nullable=True),
        sa.Column("release_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_allocations_unit_id_units"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocations")),
    )
    op.create_index("ix_allocations_unit_id", "allocations", ["unit_id"])
    op.create_index(op.f("ix_allocations_workload_id"), "allocations", ["workload_id"])
    op.create_index(op.f("ix_allocations_tenant_id"), "allocations", ["tenant_id"])
    # At most one active allocation per unit, enforced by the database on both backends.
    op.create_index("uq_allocations_active_unit", "allocations", ["unit_id"], unique=True,
                    sqlite_where=ACTIVE, postgresql_where=ACTIVE)
    # TimescaleDB, where the extension is installed, turns the samples into a hypertable; plain
    # PostgreSQL and SQLite keep a table (the primary key orders it by unit, metric and time).
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        has_timescale = bind.execute(
            sa.text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
        ).first() is not None
        if has_timescale:
            bind.execute(sa.text(
                "SELECT create_hypertable('telemetry_samples', by_range('ts_ms', 86400000), migrate_data => true)"
            ))


def downgrade() -> None:
    op.drop_index("uq_allocations_active_unit", table_name="allocations")
    op.drop_index(op.f("ix_allocations_tenant_id"), table_name="allocations")
    op.drop_index(op.f("ix_allocations_workload_id"), table_name="allocations")
    op.drop_index("ix_allocations_unit_id", table_name="allocations")
    op.drop_table("allocations")
    op.drop_index("ix_telemetry_rollups_minute", table_name="telemetry_rollups")
    op.drop_table("telemetry_rollups")
    op.drop_index("ix_telemetry_samples_ts", table_name="telemetry_samples")
    op.drop_table("telemetry_samples")
    for column in ("address", "facility_id", "kind", "model", "rack_id", "status"):
        op.drop_index(op.f(f"ix_units_{column}"), table_name="units")
    op.drop_table("units")
    op.drop_index(op.f("ix_racks_facility_id"), table_name="racks")
    op.drop_table("racks")
