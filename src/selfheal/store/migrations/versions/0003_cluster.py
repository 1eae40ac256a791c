"""cluster: ticket vectors and theme identities

Revision ID: 0003
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_vectors",
        sa.Column("ticket_id", sa.String(length=512), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", "model"),
    )
    op.create_table(
        "theme_identities",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("centroid", sa.LargeBinary(), nullable=True),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("first_seen_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("theme_identities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_theme_identities_model"), ["model"], unique=False)
        batch_op.create_index(batch_op.f("ix_theme_identities_last_seen_ms"), ["last_seen_ms"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("theme_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_theme_identities_last_seen_ms"))
        batch_op.drop_index(batch_op.f("ix_theme_identities_model"))
    op.drop_table("theme_identities")
    op.drop_table("ticket_vectors")
