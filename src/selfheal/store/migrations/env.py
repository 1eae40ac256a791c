"""Alembic environment: migrations run on the engine handed in by `selfheal.store.engine.upgrade`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from selfheal.store.metadata import METADATA

config = context.config
target_metadata = METADATA

engine = config.attributes.get("engine")
if engine is None:  # command-line use: `alembic -x url=... upgrade heads`
    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///data/selfheal.db")
    engine = create_engine(url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
