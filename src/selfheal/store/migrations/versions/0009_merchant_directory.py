"""directory: merchants and their stage history; a ticket's stage becomes optional

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merchants",
        sa.Column("id", sa.String(length=512), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("stage", sa.String(length=512), nullable=False),
        sa.Column("moved_ms", sa.BigInteger(), nullable=False),
        sa.Column("plan", sa.String(length=128), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "merchant_stages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("merchant_id", sa.String(length=512), nullable=False),
        sa.Column("stage", sa.String(length=512), nullable=False),
        sa.Column("moved_ms", sa.BigInteger(), nullable=False),
        sa.Column("recorded_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("merchant_id", "moved_ms", name="uq_merchant_stages_move"),
    )
    op.create_index("ix_merchant_stages_merchant_id", "merchant_stages", ["merchant_id"])
    with op.batch_alter_table("tickets") as batch:
        batch.alter_column("migration_stage", existing_type=sa.String(length=512), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.alter_column("migration_stage", existing_type=sa.String(length=512), nullable=False)
    op.drop_index("ix_merchant_stages_merchant_id", table_name="merchant_stages")
    op.drop_table("merchant_stages")
    op.drop_table("merchants")
