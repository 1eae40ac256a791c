"""Theme reading: the tickets of the recent windows with their vectors (each ticket is embedded once and its
vector cached in storage) and the known theme identities, for the (pure) reason stage. Remembering the themes a
cycle found is act's part (`selfheal.act.themes`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np

from selfheal.embedding import DenseEmbedder, load_dense_embedder
from selfheal.reason.cluster import (
    LEXICAL_MODEL,
    ClusterParams,
    FloatArray,
    KnownTheme,
    ThemeInput,
    normalise_rows,
    ticket_text,
)
from selfheal.records import dt_to_ms, utcnow
from selfheal.settings import Settings
from selfheal.signals import Ticket
from selfheal.store import Store, theme_repo, window_repo


def active_embedder(settings: Settings) -> DenseEmbedder | None:
    """The dense embedder when enabled and installed, else None (the lexical fallback is used)."""
    return load_dense_embedder(settings.dense_embeddings)


def ticket_vectors(
    store: Store, embedder: DenseEmbedder, tickets: Sequence[Ticket]
) -> tuple[FloatArray, int]:
    """Vectors for `tickets` (one row each): stored ones are read, the rest embedded and stored.
    Returns the matrix and how many tickets were embedded now."""
    if not tickets:
        return np.zeros((0, embedder.dim), dtype=np.float32), 0
    ids = [t.id for t in tickets]
    with store.read() as conn:
        known = theme_repo.get_vectors(conn, embedder.name, ids)
    missing = list({t.id: t for t in tickets if t.id not in known}.values())
    if missing:
        fresh = embedder.embed([ticket_text(t) for t in missing])
        new = {t.id: fresh[i] for i, t in enumerate(missing)}
        with store.transaction() as conn:
            theme_repo.put_vectors(conn, embedder.name, new, dt_to_ms(utcnow()))
        known.update(new)
    return normalise_rows(np.stack([known[i] for i in ids])), len(missing)


def recent_tickets(store: Store, as_of: datetime, window_minutes: int, windows: int) -> list[Ticket]:
    """Tickets of the current window and the `windows - 1` before it, oldest first."""
    end = dt_to_ms(as_of)
    start = end - windows * window_minutes * 60_000
    with store.read() as conn:
        return window_repo.tickets(conn, start, end)


def known_themes(store: Store, as_of: datetime, settings: Settings) -> tuple[KnownTheme, ...]:
    since = dt_to_ms(as_of - timedelta(days=settings.theme_memory_days))
    with store.read() as conn:
        rows = theme_repo.recent_themes(conn, since)
    return tuple(
        KnownTheme(id=r.id, model=r.model, label=r.label, centroid=r.centroid, members=frozenset(r.members))
        for r in rows
    )


def prepare_themes(
    store: Store,
    as_of: datetime,
    window_minutes: int,
    settings: Settings,
    embedder: DenseEmbedder | None = None,
) -> ThemeInput:
    """Everything `find_themes` needs for the window ending at `as_of`; embeds (and stores) new tickets.
    `embedder` defaults to the active one (`active_embedder`); with none, the lexical fallback is used."""
    tickets = recent_tickets(store, as_of, window_minutes, settings.theme_trend_windows)
    embedder = embedder or active_embedder(settings)
    vectors: FloatArray | None = None
    if embedder is not None:
        vectors, _ = ticket_vectors(store, embedder, tickets)
    return ThemeInput(
        tickets=tuple(tickets),
        vectors=vectors,
        model=embedder.name if embedder is not None else LEXICAL_MODEL,
        as_of=as_of,
        window_minutes=window_minutes,
        trend_windows=settings.theme_trend_windows,
        known=known_themes(store, as_of, settings),
        params=ClusterParams(method="dbscan" if settings.cluster_method == "dbscan" else "ward"),
    )
