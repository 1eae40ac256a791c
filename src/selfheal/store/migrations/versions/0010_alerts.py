"""connectors: alerts received from Alertmanager

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=False),
        sa.Column("starts_ms", sa.BigInteger(), nullable=False),
        sa.Column("ends_ms", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("alertname", sa.String(length=512), nullable=False),
        sa.Column("severity", sa.String(length=64), nullable=True),
        sa.Column("merchant_id", sa.String(length=512), nullable=True),
        sa.Column("migration_stage", sa.String(length=512), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("annotations", sa.JSON(), nullable=False),
        sa.Column("generator_url", sa.Text(), nullable=True),
        sa.Column("group_key", sa.Text(), nullable=True),
        sa.Column("receiver", sa.String(length=512), nullable=True),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alerts_starts_ms", "alerts", ["starts_ms"])
    op.create_index("ix_alerts_ends_ms", "alerts", ["ends_ms"])


def downgrade() -> None:
    op.drop_index("ix_alerts_ends_ms", table_name="alerts")
    op.drop_index("ix_alerts_starts_ms", table_name="alerts")
    op.drop_table("alerts")
