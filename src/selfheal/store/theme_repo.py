"""Ticket vectors and theme identities."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from selfheal.store.rows import ThemeIdentityRecord
from selfheal.store.tables import table
from selfheal.store.theme_tables import ThemeIdentityRow, TicketVectorRow

_LOOKUP_CHUNK = 500


def _to_bytes(vector: npt.NDArray[np.floating]) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def _from_bytes(blob: bytes, dim: int | None = None) -> npt.NDArray[np.float32]:
    vector = np.frombuffer(blob, dtype="<f4").astype(np.float32)
    if dim is not None and vector.shape[0] != dim:
        raise ValueError(f"stored vector has {vector.shape[0]} values, expected {dim}")
    return vector


def get_vectors(
    conn: Connection, model: str, ticket_ids: Sequence[str]
) -> dict[str, npt.NDArray[np.float32]]:
    """Stored vectors of `model` for the given tickets (missing ones are absent from the result)."""
    t = table(TicketVectorRow)
    found: dict[str, npt.NDArray[np.float32]] = {}
    unique = list(dict.fromkeys(ticket_ids))
    for start in range(0, len(unique), _LOOKUP_CHUNK):
        chunk = unique[start : start + _LOOKUP_CHUNK]
        rows = conn.execute(
            select(t.c.ticket_id, t.c.dim, t.c.vector).where(t.c.model == model, t.c.ticket_id.in_(chunk))
        )
        for ticket_id, dim, blob in rows:
            found[ticket_id] = _from_bytes(blob, dim)
    return found


def put_vectors(
    conn: Connection, model: str, vectors: Mapping[str, npt.NDArray[np.floating]], now_ms: int
) -> int:
    """Store vectors for tickets that have none yet for `model`; returns how many were inserted."""
    if not vectors:
        return 0
    existing = get_vectors(conn, model, list(vectors))
    rows = [
        {
            "ticket_id": tid,
            "model": model,
            "dim": int(v.shape[0]),
            "vector": _to_bytes(v),
            "created_ms": now_ms,
        }
        for tid, v in vectors.items()
        if tid not in existing
    ]
    if rows:  # a concurrent cycle may have stored the same (deterministic) vectors meanwhile
        conn.execute(_insert_ignoring_duplicates(conn, table(TicketVectorRow)), rows)
    return len(rows)


def _insert_ignoring_duplicates(conn: Connection, target: Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING on PostgreSQL and SQLite."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(target).on_conflict_do_nothing()
    return sqlite.insert(target).on_conflict_do_nothing()


def count_vectors(conn: Connection, model: str | None = None) -> int:
    t = table(TicketVectorRow)
    query = select(t.c.ticket_id)
    if model is not None:
        query = query.where(t.c.model == model)
    return len(conn.execute(query).all())


def recent_themes(conn: Connection, since_ms: int) -> list[ThemeIdentityRecord]:
    """Theme identities last seen at or after `since_ms`, newest first (centroid decoded)."""
    t = table(ThemeIdentityRow)
    rows = conn.execute(
        select(t).where(t.c.last_seen_ms >= since_ms).order_by(t.c.last_seen_ms.desc(), t.c.id)
    )
    return [
        ThemeIdentityRecord.model_validate(
            {**row._mapping, "centroid": None if row.centroid is None else _from_bytes(row.centroid)}
        )
        for row in rows
    ]


def upsert_themes(conn: Connection, themes: Iterable[Mapping[str, Any]], seen_ms: int) -> None:
    """Insert new theme identities and refresh known ones (label, centre, members, size, last seen).

    Each mapping has id, model, label, centroid (array or None), members (ticket ids) and size.
    """
    t = table(ThemeIdentityRow)
    for theme in themes:
        values = {
            "model": theme["model"],
            "label": theme["label"],
            "centroid": _to_bytes(theme["centroid"]) if theme["centroid"] is not None else None,
            "members": list(theme["members"]),
            "size": int(theme["size"]),
            "last_seen_ms": seen_ms,
        }
        known = conn.execute(select(t.c.first_seen_ms).where(t.c.id == theme["id"])).first()
        if known is None:
            conn.execute(
                _insert_ignoring_duplicates(conn, t),
                [{"id": theme["id"], "first_seen_ms": seen_ms, **values}],
            )
        else:
            values["first_seen_ms"] = min(int(known[0]), seen_ms)
            values["last_seen_ms"] = max(seen_ms, _last_seen(conn, theme["id"]))
            conn.execute(t.update().where(t.c.id == theme["id"]).values(**values))


def _last_seen(conn: Connection, theme_id: str) -> int:
    t = table(ThemeIdentityRow)
    return int(conn.execute(select(t.c.last_seen_ms).where(t.c.id == theme_id)).scalar_one())
