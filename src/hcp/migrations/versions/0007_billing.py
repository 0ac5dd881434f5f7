"""billing: usage, invoices, payments, budget events

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hcp.core.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = hcp.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('billing_budget_alerts',
    sa.Column('tenant_id', sa.String(length=32), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('threshold_pct', sa.Integer(), nullable=False),
    sa.Column('spent_usd', sa.Numeric(precision=28, scale=10), nullable=False),
    sa.Column('at', UTC, nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'month', 'threshold_pct', name=op.f('pk_billing_budget_alerts'))
    )
    op.create_table('billing_closings',
    sa.Column('tenant_id', sa.String(length=32), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('invoice_id', sa.String(length=32), nullable=True),
    sa.Column('closed_at', UTC, nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'period', name=op.f('pk_billing_closings'))
    )
    op.create_table('billing_invoices',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('tenant_id', sa.String(length=32), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('subtotal_usd', sa.Numeric(precision=28, scale=10), nullable=False),
    sa.Column('tax_rate', sa.Numeric(precision=8, scale=6), nullable=False),
    sa.Column('tax_usd', sa.Numeric(precision=28, scale=10), nullable=False),
    sa.Column('total_usd', sa.Numeric(precision=28, scale=10), nullable=False),
    sa.Column('corrects_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('issued_at', UTC, nullable=True),
    sa.Column('paid_at', UTC, nullable=True),
    sa.Column('voided_at', UTC, nullable=True),
    sa.CheckConstraint("kind IN ('monthly', 'on_demand', 'correction')", name=op.f('ck_billing_invoices_kind')),
    sa.CheckConstraint("status IN ('draft', 'issued', 'paid', 'void')", name=op.f('ck_billing_invoices_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_invoices')),
    sa.UniqueConstraint('number', name=op.f('uq_billing_invoices_number'))
    )
    op.create_index(op.f('ix_billing_invoices_tenant_id'), 'billing_invoices', ['tenant_id'], unique=False)
    op.create_table('billing_mining_earnings',
    sa.Column('facility_id', sa.String(length=64), nullable=False),
    sa.Column('hour', UTC, nullable=False),
    sa.Column('hours', sa.Integer(), nullable=False),
    sa.Column('hashrate_ths', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.Column('energy_kwh', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.Column('btc_usd', sa.Numeric(precision=28, scale=10), nullable=False),
    sa.Column('btc', sa.Numeric(precision=24, scale=12), nullable=False),
    sa.Column('revenue_usd', sa.Numeric(precision=28, scale=10), nullable=False),
    sa.Column('energy_cost_usd', sa.Numeric(precision=28, scale=10), nullable=False),
    sa.PrimaryKeyConstraint('facility_id', 'hour', name=op.f('pk_billing_mining_earnings'))
    )
    op.create_table('billing_payments',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('tenant_id', sa.String(length=32), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('invoice_id', sa.String(length=32), nullable=False),
    sa.Column('amount_usd', sa.Numeric(precision=28, scale=10), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('provider_reference', sa.String(length=64), nullable=True),
    sa.Column('message', sa.String(length=300), nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('updated_at', UTC, nullable=False),
    sa.CheckConstraint("status IN ('pending', 'succeeded', 'declined', 'timed_out')", name=op.f('ck_billing_payments_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_payments')),
    sa.UniqueConstraint('tenant_id', 'idempotency_key', name=op.f('uq_billing_payments_tenant_id'))
    )
    op.create_index(op.f('ix_billing_payments_invoice_id'), 'billing_payments', ['invoice_id'], unique=False)
    op.create_table('billing_usage',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('start_event_id', sa.String(length=64), nullable=False),
    sa.Column('part', sa.Integer(), nullable=False),
    sa.Column('end_event_id', sa.String(length=64), nullable=False),
    sa.Column('tenant_id', sa.String(length=32), nullable=False),
    sa.Column('workload_id', sa.String(length=32), nullable=False),
    sa.Column('workload_name', sa.String(length=200), nullable=False),
    sa.Column('gpu_model', sa.String(length=16), nullable=False),
    sa.Column('gpu_count', sa.Integer(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('started_at', UTC, nullable=False),
    sa.Column('ended_at', UTC, nullable=False),
    sa.Column('gpu_seconds', sa.Numeric(precision=24, scale=6), nullable=False),
    sa.Column('rate_usd_per_gpu_hour', sa.Numeric(precision=28, scale=10), nullable=False),
    sa.Column('invoice_id', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_usage')),
    sa.UniqueConstraint('start_event_id', 'part', name=op.f('uq_billing_usage_start_event_id'))
    )
    op.create_index(op.f('ix_billing_usage_invoice_id'), 'billing_usage', ['invoice_id'], unique=False)
    op.create_index('ix_billing_usage_tenant_ended', 'billing_usage', ['tenant_id', 'ended_at'], unique=False)
    op.create_index(op.f('ix_billing_usage_tenant_id'), 'billing_usage', ['tenant_id'], unique=False)
    op.create_index(op.f('ix_billing_usage_workload_id'), 'billing_usage', ['workload_id'], unique=False)
    op.create_table('billing_usage_marks',
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('workload_id', sa.String(length=32), nullable=False),
    sa.Column('tenant_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('at', UTC, nullable=False),
    sa.Column('segment', sa.String(length=80), nullable=True),
    sa.Column('workload_name', sa.String(length=200), nullable=False),
    sa.Column('gpu_model', sa.String(length=16), nullable=False),
    sa.Column('gpu_count', sa.Integer(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('rate_usd_per_gpu_hour', sa.Numeric(precision=28, scale=10), nullable=False),
    sa.CheckConstraint("kind IN ('start', 'end')", name=op.f('ck_billing_usage_marks_kind')),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_billing_usage_marks'))
    )
    op.create_index(op.f('ix_billing_usage_marks_workload_id'), 'billing_usage_marks', ['workload_id'], unique=False)
    op.create_table('billing_invoice_lines',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('invoice_id', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('workload_id', sa.String(length=32), nullable=True),
    sa.Column('gpu_model', sa.String(length=16), nullable=False),
    sa.Column('gpu_seconds', sa.Numeric(precision=24, scale=6), nullable=False),
    sa.Column('quantity_hours', sa.Numeric(precision=28, scale=10), nullable=False),
    sa.Column('rate_usd', sa.Numeric(precision=28, scale=10), nullable=False),
    sa.Column('amount_usd', sa.Numeric(precision=28, scale=10), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoices.id'], name=op.f('fk_billing_invoice_lines_invoice_id_billing_invoices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_invoice_lines'))
    )
    op.create_index(op.f('ix_billing_invoice_lines_invoice_id'), 'billing_invoice_lines', ['invoice_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_billing_invoice_lines_invoice_id'), table_name='billing_invoice_lines')
    op.drop_table('billing_invoice_lines')
    op.drop_index(op.f('ix_billing_usage_marks_workload_id'), table_name='billing_usage_marks')
    op.drop_table('billing_usage_marks')
    op.drop_index(op.f('ix_billing_usage_workload_id'), table_name='billing_usage')
    op.drop_index(op.f('ix_billing_usage_tenant_id'), table_name='billing_usage')
    op.drop_index('ix_billing_usage_tenant_ended', table_name='billing_usage')
    op.drop_index(op.f('ix_billing_usage_invoice_id'), table_name='billing_usage')
    op.drop_table('billing_usage')
    op.drop_index(op.f('ix_billing_payments_invoice_id'), table_name='billing_payments')
    op.drop_table('billing_payments')
    op.drop_table('billing_mining_earnings')
    op.drop_index(op.f('ix_billing_invoices_tenant_id'), table_name='billing_invoices')
    op.drop_table('billing_invoices')
    op.drop_table('billing_closings')
    op.drop_table('billing_budget_alerts')
