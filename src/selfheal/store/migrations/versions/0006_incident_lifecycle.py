"""incident lifecycle: tracking rows (scope, quiet cycles, loss per hour) and executed actions' verdicts

Revision ID: 0006
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_tracking",
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("stages", sa.JSON(), nullable=False),
        sa.Column("merchants", sa.JSON(), nullable=False),
        sa.Column("first_seen_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_ms", sa.BigInteger(), nullable=False),
        sa.Column("cycles", sa.Integer(), nullable=False),
        sa.Column("quiet_cycles", sa.Integer(), nullable=False),
        sa.Column("mitigating_since_ms", sa.BigInteger(), nullable=True),
        sa.Column("resolved_ms", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("lost_revenue_per_hour", sa.Float(), nullable=False),
        sa.Column("lost_orders_per_hour", sa.Float(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("executed", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("incident_id"),
    )
    op.create_index("ix_incident_tracking_status", "incident_tracking", ["status"])
    op.create_table(
        "action_outcomes",
        sa.Column("action_id", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("executed_ms", sa.BigInteger(), nullable=False),
        sa.Column("judged_ms", sa.BigInteger(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("before_per_hour", sa.Float(), nullable=False),
        sa.Column("after_per_hour", sa.Float(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("action_id"),
    )
    op.create_index("ix_action_outcomes_incident_id", "action_outcomes", ["incident_id"])


def downgrade() -> None:
    op.drop_index("ix_action_outcomes_incident_id", table_name="action_outcomes")
    op.drop_table("action_outcomes")
    op.drop_index("ix_incident_tracking_status", table_name="incident_tracking")
    op.drop_table("incident_tracking")
