"""Theme writing: remember the themes a cycle reported (label, members, dense centre) so the next cycle keeps
their ids. Runs inside the cycle's transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from selfheal.reason.cluster import ThemeInput, normalise_rows
from selfheal.reason.model import TicketTheme
from selfheal.records import dt_to_ms
from selfheal.store import theme_repo


def remember_themes(
    conn: Connection, data: ThemeInput, themes: Sequence[TicketTheme], model: str | None
) -> None:
    """Store the identities of the themes a cycle reported: label, members, and (dense) centre."""
    if not themes or model is None:
        return
    row_of = {t.id: i for i, t in enumerate(data.tickets)}
    rows = []
    for theme in themes:
        centroid = None
        if data.vectors is not None and model == data.model:
            members = [row_of[i] for i in theme.ticket_ids if i in row_of]
            if members:
                centroid = normalise_rows(data.vectors[members].mean(axis=0, keepdims=True))[0]
        rows.append(
            {
                "id": theme.id,
                "model": model,
                "label": theme.label,
                "centroid": centroid,
                "members": list(theme.ticket_ids),
                "size": theme.size,
            }
        )
    theme_repo.upsert_themes(conn, rows, dt_to_ms(data.as_of))
