"""history: settled hourly aggregates of the detection baselines

Revision ID: 0007
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "history_hours",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("hour_ms", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("stored_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "hour_ms"),
    )


def downgrade() -> None:
    op.drop_table("history_hours")
