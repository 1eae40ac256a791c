"""Tables for ticket themes: each ticket's stored vector, and the theme identities kept across cycles."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from selfheal.store.tables import Base


class TicketVectorRow(Base):
    """A ticket's embedding by one model (float32 little-endian bytes): a ticket is embedded once."""

    __tablename__ = "ticket_vectors"
    ticket_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    model: Mapped[str] = mapped_column(String(128), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_ms: Mapped[int] = mapped_column(BigInteger)


class ThemeIdentityRow(Base):
    """A theme as last seen: its centre and recent members let the next cycle keep its id."""

    __tablename__ = "theme_identities"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(128), index=True)
    label: Mapped[str] = mapped_column(Text)
    centroid: Mapped[bytes | None] = mapped_column(LargeBinary)
    members: Mapped[list[Any]] = mapped_column(JSON, default=list)
    size: Mapped[int] = mapped_column(Integer)
    first_seen_ms: Mapped[int] = mapped_column(BigInteger)
    last_seen_ms: Mapped[int] = mapped_column(BigInteger, index=True)
