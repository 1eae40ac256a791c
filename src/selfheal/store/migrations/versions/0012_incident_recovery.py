"""incident recovery: recovering since, the incident's own onset, peak and loss so far, current rate, story

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

COLUMNS = (
    ("recovering_since_ms", sa.BigInteger()),
    ("onset_ms", sa.BigInteger()),
    ("lost_orders_so_far", sa.Float()),
    ("lost_revenue_so_far", sa.Float()),
    ("counted_until_ms", sa.BigInteger()),
    ("peak_lost_orders_per_hour", sa.Float()),
    ("peak_lost_revenue_per_hour", sa.Float()),
    ("current_lost_orders_per_hour", sa.Float()),
    ("story", sa.Text()),
)


def upgrade() -> None:
    with op.batch_alter_table("incident_tracking") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incident_tracking") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
