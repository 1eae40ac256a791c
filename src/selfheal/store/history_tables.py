"""Table of settled detection-history hours: the hourly aggregates a cold process reads instead of raw rows."""

from __future__ import annotations

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from selfheal.store.tables import Base


class HistoryHourRow(Base):
    """The aggregated rows of one settled hour of one baseline query (`kind`), as a JSON payload.

    Written by detection once the hour is settled, deleted by ingestion when late rollups or metric points
    land in the hour, and never touched by raw retention: the history outlives the raw rows it came from.
    """

    __tablename__ = "history_hours"
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    hour_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    """orjson of {"columns": [...], "rows": [[...], ...]} (dict rows) or {"rows": [...]} (tuple rows)."""
    stored_ms: Mapped[int] = mapped_column(BigInteger)
