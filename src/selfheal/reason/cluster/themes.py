"""From tickets (and their vectors) to readable, stable themes for one cycle's Findings.

The tickets cover the current window and `trend_windows - 1` earlier windows of the same length: the
themes are found over all of them (more tickets give steadier themes and ids), counted per window for the
trend, and reported when they have tickets in the current window.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from selfheal.errors import InvalidInput
from selfheal.observe.model import Observation
from selfheal.reason.cluster.algorithms import (
    UNASSIGNED,
    ClusterParams,
    FloatArray,
    centre,
    normalise_rows,
)
from selfheal.reason.cluster.floods import DistinctClustering, cluster_distinct, flood_id, ticket_key
from selfheal.reason.cluster.identity import KnownTheme, ThemeCandidate, assign_ids
from selfheal.reason.cluster.naming import class_tfidf_terms, label_from_terms
from selfheal.reason.cluster.representatives import nearest_distinct
from selfheal.reason.cluster.trend import classify_trend
from selfheal.reason.cluster.vectors import LEXICAL_MODEL, lexical_vectors, ticket_text
from selfheal.reason.model import (
    Anomaly,
    RepresentativeTicket,
    ThemeGroup,
    TicketFlood,
    TicketTheme,
)
from selfheal.signals import Ticket

ANOMALY_LEAD = timedelta(minutes=15)
"""A ticket filed up to this long before an anomaly's onset still counts as co-occurring with it."""
REPRESENTATIVE_BODY_CHARS = 500


@dataclass(frozen=True)
class ThemeInput:
    """What theme finding needs, gathered at the edge. `vectors` rows align with `tickets`; None means
    the lexical fallback is computed here."""

    tickets: tuple[Ticket, ...]
    vectors: FloatArray | None
    model: str
    as_of: datetime
    window_minutes: int
    trend_windows: int = 4
    known: tuple[KnownTheme, ...] = ()
    params: ClusterParams = field(default_factory=ClusterParams)

    def __post_init__(self) -> None:
        if self.vectors is not None and self.vectors.shape[0] != len(self.tickets):
            raise InvalidInput(
                "one vector per ticket is required",
                {"field": "vectors", "tickets": len(self.tickets), "vectors": int(self.vectors.shape[0])},
            )
        if self.trend_windows < 1:
            raise InvalidInput("trend_windows must be at least 1", {"field": "trend_windows"})


@dataclass(frozen=True)
class ThemeReport:
    themes: tuple[TicketTheme, ...]
    unassigned_tickets: int
    embedding_model: str
    groups: tuple[ThemeGroup, ...] = ()
    floods: tuple[TicketFlood, ...] = ()


def window_index(created_at: datetime, as_of: datetime, window_minutes: int, windows: int) -> int | None:
    """Which window `[as_of - k*W, as_of - (k-1)*W)` a ticket falls in: windows-1 for the current window,
    0 for the oldest; None outside them."""
    age = (as_of - created_at) / timedelta(minutes=window_minutes)
    if age <= 0 or age > windows:
        return None
    return windows - math.ceil(age)


@dataclass(frozen=True)
class _Batch:
    """The tickets themes are found over, their windows and clustering."""

    tickets: list[Ticket]
    texts: list[str]
    windows: npt.NDArray[np.int64]
    current: npt.NDArray[np.bool_]
    labels: npt.NDArray[np.int64]
    similarity: FloatArray
    centred: FloatArray
    trend_windows: int

    def counts(self, mask: npt.NDArray[np.bool_]) -> list[int]:
        return [int(np.count_nonzero(mask & (self.windows == w))) for w in range(self.trend_windows)]


def find_themes(data: ThemeInput, anomalies: Sequence[Anomaly] = ()) -> ThemeReport:
    """Cluster, name, describe and identify the themes (and their groups and floods) of `data`'s tickets."""
    in_range = [
        (i, w)
        for i, t in enumerate(data.tickets)
        if (w := window_index(t.created_at, data.as_of, data.window_minutes, data.trend_windows)) is not None
    ]
    if not in_range:
        return ThemeReport(themes=(), unassigned_tickets=0, embedding_model=data.model)
    rows = np.array([i for i, _ in in_range], dtype=np.int64)
    windows = np.array([w for _, w in in_range], dtype=np.int64)
    tickets = [data.tickets[i] for i in rows]
    texts = [ticket_text(t) for t in tickets]
    if data.vectors is not None:
        raw, model = normalise_rows(data.vectors[rows]), data.model
    else:
        raw, model = lexical_vectors(texts), LEXICAL_MODEL
    found = cluster_distinct(raw, [ticket_key(t.subject, t.body) for t in tickets], data.params)
    clustering = found.clustering
    batch = _Batch(
        tickets,
        texts,
        windows,
        windows == data.trend_windows - 1,
        clustering.labels,
        clustering.similarity,
        _centred(raw),
        data.trend_windows,
    )
    reported = [t for t in range(clustering.n_themes) if np.any(batch.current & (batch.labels == t))]
    candidates = [
        ThemeCandidate(
            members=frozenset(tickets[i].id for i in np.flatnonzero(batch.labels == theme)),
            centroid=_unit_mean(raw, batch.labels == theme) if data.vectors is not None else None,
        )
        for theme in reported
    ]
    ids = assign_ids(candidates, data.known, model)
    group_ids = _group_ids(reported, ids, clustering.theme_groups)
    terms = class_tfidf_terms(texts, np.where(batch.labels >= 0, batch.labels, UNASSIGNED))
    themes = [
        _theme(
            batch,
            theme,
            theme_id,
            terms.get(theme, ()),
            group_ids[int(clustering.theme_groups[theme])],
            anomalies,
        )
        for theme, theme_id in zip(reported, ids, strict=True)
    ]
    themes.sort(key=lambda t: (-t.size, t.id))
    return ThemeReport(
        themes=tuple(themes),
        unassigned_tickets=int(np.count_nonzero(batch.current & (batch.labels == UNASSIGNED))),
        embedding_model=model,
        groups=_groups(batch, clustering.group_labels, themes, group_ids),
        floods=_floods(batch, found),
    )


def _theme(
    batch: _Batch,
    theme: int,
    theme_id: str,
    top: tuple[str, ...],
    group_id: str,
    anomalies: Sequence[Anomaly],
) -> TicketTheme:
    now = np.flatnonzero(batch.current & (batch.labels == theme))
    tickets = batch.tickets
    picks = nearest_distinct(now, batch.similarity, batch.centred, batch.texts)
    current_tickets = [tickets[i] for i in now]
    return TicketTheme(
        id=theme_id,
        label=label_from_terms(top),
        top_terms=top,
        size=len(now),
        representatives=tuple(
            RepresentativeTicket(
                ticket_id=tickets[i].id,
                subject=tickets[i].subject,
                body=tickets[i].body[:REPRESENTATIVE_BODY_CHARS],
            )
            for i in picks
        ),
        ticket_ids=tuple(t.id for t in current_tickets),
        merchants=_by_count(t.merchant_id for t in current_tickets),
        stages=_by_count(t.migration_stage for t in current_tickets if t.migration_stage),
        trend=classify_trend(batch.counts(batch.labels == theme)),
        anomaly_ids=linked_anomalies(current_tickets, anomalies),
        group_id=group_id,
    )


def _group_ids(reported: list[int], ids: list[str], theme_groups: npt.NDArray[np.int64]) -> dict[int, str]:
    """A group's id follows from its themes' stable ids (the smallest one): it stays while that theme
    stays in the group."""
    members: dict[int, list[str]] = {}
    for theme, theme_id in zip(reported, ids, strict=True):
        members.setdefault(int(theme_groups[theme]), []).append(theme_id)
    out = {g: "grp-" + hashlib.sha256(min(m).encode()).hexdigest()[:12] for g, m in members.items()}
    for group in range(int(theme_groups.max()) + 1 if theme_groups.size else 0):
        out.setdefault(group, f"grp-unreported-{group}")
    return out


def _groups(
    batch: _Batch,
    group_labels: npt.NDArray[np.int64],
    themes: list[TicketTheme],
    group_ids: dict[int, str],
) -> tuple[ThemeGroup, ...]:
    terms = class_tfidf_terms(batch.texts, group_labels)
    out: list[ThemeGroup] = []
    for group, group_id in group_ids.items():
        members = [t for t in themes if t.group_id == group_id]
        if not members:
            continue
        now = np.flatnonzero(batch.current & (group_labels == group))
        current_tickets = [batch.tickets[i] for i in now]
        top = terms.get(group, ())
        out.append(
            ThemeGroup(
                id=group_id,
                label=label_from_terms(top),
                top_terms=top,
                size=len(now),
                theme_ids=tuple(t.id for t in members),
                merchants=_by_count(t.merchant_id for t in current_tickets),
                stages=_by_count(t.migration_stage for t in current_tickets if t.migration_stage),
                trend=classify_trend(batch.counts(group_labels == group)),
            )
        )
    return tuple(sorted(out, key=lambda g: (-g.size, g.id)))


def _floods(batch: _Batch, found: DistinctClustering) -> tuple[TicketFlood, ...]:
    out: list[TicketFlood] = []
    for number, key in enumerate(found.flood_keys):
        rows = [i for i in found.flood_rows(number) if batch.current[i]]
        if not rows:
            continue
        current_tickets = [batch.tickets[i] for i in rows]
        out.append(
            TicketFlood(
                id=flood_id(key),
                text=batch.texts[rows[0]][:REPRESENTATIVE_BODY_CHARS],
                size=len(rows),
                ticket_ids=tuple(t.id for t in current_tickets),
                merchants=_by_count(t.merchant_id for t in current_tickets),
            )
        )
    return tuple(out)


def linked_anomalies(tickets: Sequence[Ticket], anomalies: Sequence[Anomaly]) -> tuple[str, ...]:
    """Anomalies a theme co-occurs with: a ticket filed after the onset (less ANOMALY_LEAD), and the same
    merchants (or, for an anomaly without merchants, the same stages; one without either is platform-wide)."""
    if not tickets:
        return ()
    merchants = {t.merchant_id for t in tickets}
    stages = {t.migration_stage for t in tickets if t.migration_stage}
    linked: list[str] = []
    for anomaly in anomalies:
        after_onset = [t for t in tickets if t.created_at >= anomaly.onset - ANOMALY_LEAD]
        if not after_onset:
            continue
        dims = anomaly.dimensions
        if dims.merchants:
            overlaps = bool(merchants & set(dims.merchants))
        elif dims.stages:
            overlaps = bool(stages & set(dims.stages))
        else:
            overlaps = True
        if overlaps:
            linked.append(anomaly.id)
    return tuple(linked)


def _by_count(values: Iterable[str]) -> tuple[str, ...]:
    counts = Counter(values)
    return tuple(v for v, _ in sorted(counts.items(), key=lambda p: (-p[1], p[0])))


def _unit_mean(vectors: FloatArray, mask: npt.NDArray[np.bool_]) -> FloatArray:
    mean: FloatArray = normalise_rows(vectors[mask].mean(axis=0, keepdims=True))[0]
    return mean


def _centred(vectors: FloatArray) -> FloatArray:
    return centre(vectors) if vectors.shape[0] > 1 else vectors


def lexical_theme_input(obs: Observation) -> ThemeInput:
    """The window's own tickets, for the lexical fallback, when the edge supplied nothing."""
    return ThemeInput(
        tickets=obs.tickets,
        vectors=None,
        model=LEXICAL_MODEL,
        as_of=obs.as_of,
        window_minutes=obs.window_minutes,
        trend_windows=1,
    )
