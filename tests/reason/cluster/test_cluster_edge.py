"""Vectors stored once, theme identities kept across real cycles, on a real database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from themekit import AS_OF, HashingEmbedder, load, themed_tickets

from selfheal.act.themes import remember_themes
from selfheal.cycle import CycleDeps, run_cycle
from selfheal.embedding import dense_available
from selfheal.observe.themes import prepare_themes, ticket_vectors
from selfheal.reason.cluster import LEXICAL_MODEL, find_themes
from selfheal.settings import Settings
from selfheal.store import Store, theme_repo


def _settings(tmp_path: Path, dense: bool = False) -> Settings:
    return Settings(data_dir=tmp_path, dense_embeddings=dense, window_minutes=60)


def test_each_ticket_is_embedded_once(theme_store: Store) -> None:
    embedder = HashingEmbedder()
    tickets = themed_tickets({"webhook": 10, "cart": 10})
    load(theme_store, tickets)
    first, embedded = ticket_vectors(theme_store, embedder, tickets)
    assert embedded == 20
    more = themed_tickets({"checkout": 5}, prefix="n")
    second, embedded_again = ticket_vectors(theme_store, embedder, tickets + more)
    assert embedded_again == 5
    assert len(embedder.embedded) == 25
    assert np.allclose(second[:20], first, atol=1e-6)
    with theme_store.read() as conn:
        assert theme_repo.count_vectors(conn, embedder.name) == 25
        stored = theme_repo.get_vectors(conn, embedder.name, [tickets[0].id])
    assert stored[tickets[0].id].dtype == np.float32
    assert stored[tickets[0].id].shape == (embedder.dim,)


def test_theme_identities_round_trip(theme_store: Store, tmp_path: Path) -> None:
    embedder = HashingEmbedder()
    load(theme_store, themed_tickets({"webhook": 20, "cart": 20}, wordings=1))
    data = prepare_themes(theme_store, AS_OF, 60, _settings(tmp_path), embedder=embedder)
    report = find_themes(data)
    with theme_store.transaction() as conn:
        remember_themes(conn, data, report.themes, report.embedding_model)
    with theme_store.read() as conn:
        rows = theme_repo.recent_themes(conn, 0)
    assert {r.id for r in rows} == {t.id for t in report.themes}
    for row in rows:
        assert row.model == embedder.name
        assert row.centroid is not None and row.centroid.shape == (embedder.dim,)
        assert abs(float(np.linalg.norm(row.centroid)) - 1) < 1e-4
    again = prepare_themes(
        theme_store, AS_OF + timedelta(minutes=5), 60, _settings(tmp_path), embedder=embedder
    )
    assert {k.id for k in again.known} == {t.id for t in report.themes}


def test_cycles_fill_findings_and_keep_theme_ids(sqlite_store: Store, tmp_path: Path) -> None:
    deps = CycleDeps(store=sqlite_store, settings=_settings(tmp_path))
    load(
        sqlite_store,
        themed_tickets({"webhook": 30, "checkout": 20}, end=AS_OF - timedelta(hours=1), wordings=1),
    )
    first = run_cycle(deps, as_of=AS_OF - timedelta(hours=1))
    assert first.findings.embedding_model == LEXICAL_MODEL
    assert len(first.findings.themes) == 2
    assert "embed" in first.stage_ms
    load(
        sqlite_store,
        themed_tickets({"webhook": 30, "checkout": 20, "cart": 15}, prefix="b", seed=3, wordings=1),
    )
    second = run_cycle(deps, as_of=AS_OF)
    ids_before = {t.ticket_ids[0].split("-")[1]: t.id for t in first.findings.themes}
    ids_after = {t.ticket_ids[0].split("-")[1]: t.id for t in second.findings.themes}
    assert ids_after["webhook"] == ids_before["webhook"]
    assert ids_after["checkout"] == ids_before["checkout"]
    assert ids_after["cart"] not in ids_before.values()
    trends = {t.ticket_ids[0].split("-")[1]: t.trend.value for t in second.findings.themes}
    assert trends["cart"] == "new"
    assert trends["webhook"] != "new"  # seen in the window before
    assert trends["checkout"] != "new"
    with sqlite_store.read() as conn:
        assert len(theme_repo.recent_themes(conn, 0)) == 3


@pytest.mark.skipif(not dense_available(), reason="the embed extra (sentence model) is not installed")
def test_cycle_with_the_dense_model_stores_vectors(sqlite_store: Store, tmp_path: Path) -> None:
    deps = CycleDeps(store=sqlite_store, settings=_settings(tmp_path, dense=True))
    load(sqlite_store, themed_tickets({"webhook": 25, "cart": 25}, wordings=2))
    result = run_cycle(deps, as_of=AS_OF)
    assert result.findings.embedding_model == "all-MiniLM-L6-v2"
    assert result.findings.themes
    assert sum(t.size for t in result.findings.themes) + result.findings.unassigned_tickets == 50
    with sqlite_store.read() as conn:
        assert theme_repo.count_vectors(conn, "all-MiniLM-L6-v2") == 50
    run_cycle(deps, as_of=AS_OF + timedelta(minutes=1))
    with sqlite_store.read() as conn:
        assert theme_repo.count_vectors(conn) == 50


def test_storing_the_same_vectors_twice_keeps_one_row(theme_store: Store) -> None:
    vector = np.ones(4, dtype=np.float32) / 2
    with theme_store.transaction() as conn:
        assert theme_repo.put_vectors(conn, "m", {"t1": vector}, 1) == 1
        assert theme_repo.put_vectors(conn, "m", {"t1": vector, "t2": vector}, 2) == 1
    with theme_store.read() as conn:
        assert theme_repo.count_vectors(conn, "m") == 2
        assert np.allclose(theme_repo.get_vectors(conn, "m", ["t1"])["t1"], vector)
