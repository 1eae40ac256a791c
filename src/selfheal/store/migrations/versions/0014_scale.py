"""log rollups: a narrow index on the minute, for the window and history range queries

Revision ID: 0014_scale
Revises: 0013

Every window and history query reads `log_rollups` by a range of `minute_ms`. The only index leading with it
was the six-column unique key, whose text columns make it wide (about a third of the table's size), so
PostgreSQL's planner chose a parallel scan of the whole table instead: each such query read all the history
kept, and a cycle's time grew with the history's length rather than the window's (issue #16's scale curve:
0.9 s per query at 5,000 merchants and one day of history; 0.1 s with this index).

Building the index locks `log_rollups` against writes while it runs. On a large installation, create it
first without blocking ingest (`CREATE INDEX CONCURRENTLY ix_log_rollups_minute ON log_rollups (minute_ms)`);
this migration then finds it and does nothing.
"""

from __future__ import annotations

from alembic import op

revision = "0014_scale"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_log_rollups_minute", "log_rollups", ["minute_ms"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_log_rollups_minute", table_name="log_rollups", if_exists=True)
