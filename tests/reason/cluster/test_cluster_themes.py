from __future__ import annotations

from datetime import timedelta

import numpy as np
from themekit import AS_OF, HashingEmbedder, themed_tickets

from selfheal.reason.cluster import LEXICAL_MODEL, KnownTheme, ThemeInput, find_themes
from selfheal.reason.cluster.identity import ThemeCandidate, assign_ids
from selfheal.reason.cluster.vectors import ticket_text
from selfheal.reason.model import Anomaly, AnomalyKind, Dimensions, Severity, ThemeTrend, TicketTheme


def _input(tickets, vectors=None, model=LEXICAL_MODEL, known=(), windows=4) -> ThemeInput:  # type: ignore[no-untyped-def]
    return ThemeInput(
        tickets=tuple(tickets),
        vectors=vectors,
        model=model,
        as_of=AS_OF,
        window_minutes=60,
        trend_windows=windows,
        known=tuple(known),
    )


def _anomaly(
    aid: str, onset_minutes_ago: int, merchants: tuple[str, ...] = (), stages: tuple[str, ...] = ()
) -> Anomaly:
    return Anomaly(
        id=aid,
        kind=AnomalyKind.hard,
        severity=Severity.high,
        score=0.9,
        method="test",
        series="error rate",
        metric="error_rate",
        onset=AS_OF - timedelta(minutes=onset_minutes_ago),
        observed=0.3,
        expected=0.01,
        dimensions=Dimensions(merchants=merchants, stages=stages),
    )


def _topic(theme: TicketTheme) -> str:
    """The one topic all of a theme's tickets share (ids are `<prefix>-<topic>-<n>`)."""
    topics = {tid.split("-")[1] for tid in theme.ticket_ids}
    assert len(topics) == 1, f"theme {theme.label!r} mixes {topics}"
    return topics.pop()


def test_themes_of_the_window_are_pure_and_fully_described() -> None:
    tickets = themed_tickets({"webhook": 40, "checkout": 30, "cart": 20}, merchants={"webhook": ["m1", "m2"]})
    texts = {t.id: ticket_text(t).lower() for t in tickets}
    report = find_themes(_input(tickets, windows=1))
    assert report.embedding_model == LEXICAL_MODEL
    assert {_topic(t) for t in report.themes} == {"webhook", "checkout", "cart"}
    for theme in report.themes:
        assert theme.size == len(theme.ticket_ids) >= 2
        first_word = theme.label.split(" / ")[0].split()[0]
        assert all(first_word in texts[tid] for tid in theme.ticket_ids[:1])
        assert theme.top_terms
        assert theme.top_terms[0] in theme.label
        assert theme.stages
        assert 1 <= len(theme.representatives) <= 3
        bodies = [r.body for r in theme.representatives]
        assert len(set(bodies)) == len(bodies)
        assert {r.ticket_id for r in theme.representatives} <= set(theme.ticket_ids)
        if _topic(theme) == "webhook":
            assert set(theme.merchants) <= {"m1", "m2"}
    assert sum(t.size for t in report.themes) + report.unassigned_tickets == 90
    assert report.unassigned_tickets <= 9
    assert [t.size for t in report.themes] == sorted((t.size for t in report.themes), reverse=True)


def test_trend_compares_the_current_window_with_the_earlier_ones() -> None:
    flat = [
        t
        for h in (1, 2, 3)
        for t in themed_tickets(
            {"webhook": 3, "checkout": 12}, end=AS_OF - timedelta(hours=h), seed=h, prefix=f"h{h}", wordings=1
        )
    ]
    now = themed_tickets({"webhook": 25, "checkout": 12, "cart": 10}, seed=9, prefix="now", wordings=1)
    report = find_themes(_input(flat + now))
    trends = {_topic(t): t.trend for t in report.themes}
    assert len(trends) == len(report.themes) == 3
    assert trends["webhook"] == ThemeTrend.growing
    assert trends["checkout"] == ThemeTrend.stable
    assert trends["cart"] == ThemeTrend.new
    assert sum(t.size for t in report.themes) + report.unassigned_tickets == 47  # only the current window


def test_anomaly_links_need_time_and_place_overlap() -> None:
    tickets = themed_tickets(
        {"webhook": 30, "cart": 30},
        end=AS_OF - timedelta(minutes=30),
        minutes=30,
        merchants={"webhook": ["m1"], "cart": ["m7"]},
        wordings=1,
    )
    anomalies = [
        _anomaly("a-m1", 50, merchants=("m1",)),
        _anomaly("a-late", 5, merchants=("m1",)),  # starts 15+ minutes after the last ticket
        _anomaly("a-global", 50),
    ]
    report = find_themes(_input(tickets, windows=1), anomalies)
    webhook = next(t for t in report.themes if _topic(t) == "webhook")
    cart = next(t for t in report.themes if _topic(t) == "cart")
    assert webhook.anomaly_ids == ("a-m1", "a-global")
    assert cart.anomaly_ids == ("a-global",)


def test_ids_persist_across_cycles_by_shared_tickets() -> None:
    first = themed_tickets(
        {"webhook": 30, "checkout": 30}, end=AS_OF - timedelta(hours=1), prefix="a", wordings=1
    )
    report1 = find_themes(
        ThemeInput(
            tickets=tuple(first),
            vectors=None,
            model=LEXICAL_MODEL,
            as_of=AS_OF - timedelta(hours=1),
            window_minutes=60,
            trend_windows=4,
        )
    )
    known = [
        KnownTheme(id=t.id, model=LEXICAL_MODEL, label=t.label, members=frozenset(t.ticket_ids))
        for t in report1.themes
    ]
    later = themed_tickets({"webhook": 30, "checkout": 30, "cart": 30}, prefix="b", seed=4, wordings=1)
    report2 = find_themes(_input(first + later, known=known))
    old = {_topic(t): t.id for t in report1.themes}
    new = {_topic(t): t.id for t in report2.themes}
    assert len(old) == 2
    assert len(new) == 3
    assert new["webhook"] == old["webhook"]
    assert new["checkout"] == old["checkout"]
    assert new["cart"] not in old.values()


def test_ids_persist_by_centre_for_the_same_model() -> None:
    embedder = HashingEmbedder()
    tickets = themed_tickets({"webhook": 30, "checkout": 30}, wordings=1)
    vectors = embedder.embed([ticket_text(t) for t in tickets])
    report = find_themes(_input(tickets, vectors, embedder.name, windows=1))
    webhook = next(t for t in report.themes if _topic(t) == "webhook")
    rows = [i for i, t in enumerate(tickets) if t.id in webhook.ticket_ids]
    centre = vectors[rows].mean(axis=0)
    known = [KnownTheme(id="thm-known", model=embedder.name, centroid=centre / np.linalg.norm(centre))]
    fresh = themed_tickets({"webhook": 30, "checkout": 30}, prefix="x", seed=5, wordings=1)
    fresh_vectors = embedder.embed([ticket_text(t) for t in fresh])
    again = find_themes(_input(fresh, fresh_vectors, embedder.name, known=known, windows=1))
    assert next(t for t in again.themes if _topic(t) == "webhook").id == "thm-known"
    assert next(t for t in again.themes if _topic(t) == "checkout").id != "thm-known"


def test_new_ids_are_deterministic_and_unique() -> None:
    a = ThemeCandidate(members=frozenset({"1", "2"}), centroid=None)
    b = ThemeCandidate(members=frozenset({"3"}), centroid=None)
    ids = assign_ids([a, b], [], "m")
    assert ids == assign_ids([a, b], [], "m")
    assert len(set(ids)) == 2
    # one known theme cannot be claimed twice
    known = [KnownTheme(id="k", model="m", members=frozenset({"1", "2", "3"}))]
    assert assign_ids([a, b], known, "m").count("k") == 1


def test_no_tickets_no_themes() -> None:
    report = find_themes(_input([]))
    assert report.themes == ()
    assert report.unassigned_tickets == 0
