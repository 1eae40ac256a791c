"""Every table the product stores, in one `MetaData`: what Alembic migrates and what the schema test compares
the migrations with."""

from __future__ import annotations

from sqlalchemy import MetaData

from selfheal.store import (  # noqa: F401  (each module registers its tables on Base.metadata)
    actions_tables,
    alert_tables,
    directory_tables,
    history_tables,
    incident_tables,
    knowledge_tables,
    notify_tables,
    tables,
    theme_tables,
)

METADATA: MetaData = tables.Base.metadata
