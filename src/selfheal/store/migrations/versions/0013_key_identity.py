"""keys: a key's name is unique (duplicates renamed), and actions remember the key that requested them

Revision ID: 0013
Revises: 0012

Before this revision two keys could share a name (concurrent creation on PostgreSQL passed the check in the
creating transaction). Existing duplicates keep the oldest key's name; each later one is renamed
`<name>~<key id>`, which no one can create (key ids are not chosen by callers), so nothing is lost and the
audit trail still shows the key's id. The unique index then refuses a second key of the same name for good.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _rename_duplicates() -> None:
    conn = op.get_bind()
    keys = sa.table(
        "api_keys", sa.column("id", sa.String), sa.column("name", sa.String), sa.column("created_ms")
    )
    rows = conn.execute(sa.select(keys.c.id, keys.c.name).order_by(keys.c.created_ms, keys.c.id)).all()
    seen: set[str] = set()
    for key_id, name in rows:
        if name in seen:
            conn.execute(keys.update().where(keys.c.id == key_id).values(name=f"{name}~{key_id}"[:256]))
        else:
            seen.add(name)


def upgrade() -> None:
    _rename_duplicates()
    op.create_index("ux_api_keys_name", "api_keys", ["name"], unique=True)
    with op.batch_alter_table("actions") as batch:
        batch.add_column(sa.Column("requested_by_key", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("actions") as batch:
        batch.drop_column("requested_by_key")
    op.drop_index("ux_api_keys_name", table_name="api_keys")
