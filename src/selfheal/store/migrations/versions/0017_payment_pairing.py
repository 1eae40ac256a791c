"""payment/order pairing events: the pairing projection of payments and orders, kept beyond raw retention

Pairing (payments that succeeded with no `order.created` after the grace period) read only the raw log events,
which are pruned after `raw_log_retention_days`: a window re-read after pruning lost its soft failures (and the
webhook cause its confidence). `payment_order_events` holds, per pruned `payment.succeeded` / `order.created`
log event with a correlation id, its id (the raw event's), time, merchant, stage as sent, event and correlation
id: pruning copies them here in its transaction, before it deletes the raw events, and pairing reads both.

Upgrade creates the empty table: the raw events still stored are copied when they are pruned; events pruned
before it are gone (a window older than the retention at upgrade time pairs nothing, as before). Downgrade
drops the table, and with it the pairing of the windows already pruned.

Revision ID: 0017_payment_pairing
Revises: 0016_rollup_codes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_payment_pairing"
down_revision = "0016_rollup_codes"
branch_labels = None
depends_on = None

def upgrade() -> None:
    op.create_table(
        "payment_order_events",
        sa.Column("id", sa.String(length=512), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("merchant_id", sa.String(length=512), nullable=False),
        sa.Column("migration_stage", sa.String(length=512), nullable=True),
        sa.Column("event", sa.String(length=128), nullable=False),
        sa.Column("correlation_id", sa.String(length=512), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_payment_order_events_ts_ms", "payment_order_events", ["ts_ms"])


def downgrade() -> None:
    op.drop_index("ix_payment_order_events_ts_ms", table_name="payment_order_events")
    op.drop_table("payment_order_events")
