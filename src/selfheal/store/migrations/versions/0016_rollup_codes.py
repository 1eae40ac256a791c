"""log rollups keep the status code: `status_code` joins the rollup key

A cause can be about exact codes (401/403 auth, 404/409/422 sync, 504 timeouts); a rollup that keeps only the
class (4xx) lets one merchant's ordinary 422s count as another cause's 401s. New rows carry the code when it is
one of `signals.ROLLUP_STATUS_CODES`, else the class (`4xx`: another code of it). Rows already stored get ""
(only the class is known): readers count them by their class, as before.

Downgrade merges the rows of a (minute, merchant, stage, source, endpoint, class) back into one (counts and
histogram buckets added, the largest latency kept) before the column goes.

Revision ID: 0016_rollup_codes
Revises: 0015_current_revenue
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_rollup_codes"
down_revision = "0015_current_revenue"
branch_labels = None
depends_on = None

_CLASS_KEY = ("minute_ms", "merchant_id", "migration_stage", "source", "endpoint", "status_class")
_ADDED = ("count", "latency_count", "latency_sum", *(f"h{i}" for i in range(20)))


def upgrade() -> None:
    with op.batch_alter_table("log_rollups") as batch:
        batch.add_column(sa.Column("status_code", sa.String(length=8), nullable=False, server_default=""))
        batch.drop_constraint("uq_log_rollups_key", type_="unique")
        batch.create_unique_constraint("uq_log_rollups_key", [*_CLASS_KEY, "status_code"])


def downgrade() -> None:
    key = ", ".join(_CLASS_KEY)
    sums = ", ".join(f"SUM({c}) AS {c}" for c in _ADDED)
    columns = ", ".join((*_CLASS_KEY, *_ADDED, "latency_max"))
    op.execute(
        f"CREATE TEMPORARY TABLE log_rollups_by_class AS SELECT {key}, {sums}, MAX(latency_max) AS latency_max "
        f"FROM log_rollups GROUP BY {key}"
    )
    op.execute("DELETE FROM log_rollups")
    op.execute(
        f"INSERT INTO log_rollups ({columns}) SELECT {columns} FROM log_rollups_by_class ORDER BY {key}"
    )
    op.execute("DROP TABLE log_rollups_by_class")
    with op.batch_alter_table("log_rollups") as batch:
        batch.drop_constraint("uq_log_rollups_key", type_="unique")
        batch.create_unique_constraint("uq_log_rollups_key", list(_CLASS_KEY))
        batch.drop_column("status_code")
