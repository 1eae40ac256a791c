"""incident current rate in money: the lost revenue per hour over the last `incident_recovery_minutes`

Revision ID: 0015_current_revenue
Revises: 0014_scale
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_current_revenue"
down_revision = "0014_scale"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incident_tracking") as batch:
        batch.add_column(sa.Column("current_lost_revenue_per_hour", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incident_tracking") as batch:
        batch.drop_column("current_lost_revenue_per_hour")
