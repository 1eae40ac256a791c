"""`selfheal cluster FILE.csv` and GET /themes (alias /clusters), end to end."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from themekit import AS_OF, load, themed_tickets
from typer.testing import CliRunner

from selfheal.api.app import create_app
from selfheal.auth import hash_key
from selfheal.cli.cluster import register
from selfheal.records import dt_to_ms
from selfheal.settings import AuthMode, Settings
from selfheal.store import Store, keys_repo


def _cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """selfheal"""

    register(app)
    return app


def _export(path: Path) -> list[dict[str, str]]:
    tickets = themed_tickets({"webhook": 20, "cart": 15, "checkout": 10}, wordings=1)
    rows = [{"ticket": t.id, "text": t.body, "note": "x,y"} for t in tickets]
    rows.append({"ticket": "blank", "text": "", "note": ""})
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["ticket", "text", "note"])
        writer.writeheader()
        writer.writerows(rows)
    return rows


def test_cli_writes_one_row_per_input_row_in_order(tmp_path: Path) -> None:
    rows = _export(tmp_path / "tickets.csv")
    out = tmp_path / "clusters.csv"
    result = CliRunner().invoke(
        _cli(),
        ["cluster", str(tmp_path / "tickets.csv"), "--text-column", "text", "--out", str(out), "--lexical"],
    )
    assert result.exit_code == 0, result.output
    assert "embedding: tfidf-lsa" in result.output
    assert "3 themes" in result.output
    with out.open() as handle:
        written = list(csv.DictReader(handle))
    assert [r["ticket"] for r in written] == [r["ticket"] for r in rows]
    assert list(written[0]) == [
        "ticket",
        "text",
        "note",
        "cluster_id",
        "cluster_label",
        "group_id",
        "group_label",
    ]
    assert all(r["group_id"] != "-1" for r in written[:-1]) and written[-1]["group_id"] == "-1"
    assert written[0]["note"] == "x,y"
    by_topic: dict[str, set[str]] = {}
    for r in written[:-1]:
        by_topic.setdefault(r["ticket"].split("-")[1], set()).add(r["cluster_id"])
    assert all(len(ids) == 1 for ids in by_topic.values())
    assert len({next(iter(ids)) for ids in by_topic.values()}) == 3
    assert written[-1]["cluster_id"] == "-1"
    assert written[-1]["cluster_label"] == ""
    webhook = next(r for r in written if "webhook" in r["ticket"])
    assert "webhook" in webhook["cluster_label"] or "403" in webhook["cluster_label"]


def test_cli_lists_groups_with_level_group(tmp_path: Path) -> None:
    _export(tmp_path / "tickets.csv")
    out = tmp_path / "clusters.csv"
    args = ["cluster", str(tmp_path / "tickets.csv"), "--out", str(out), "--lexical"]
    result = CliRunner().invoke(_cli(), [*args, "--level", "group"])
    assert result.exit_code == 0, result.output
    assert "groups:" in result.output and " groups, " in result.output
    bad = CliRunner().invoke(_cli(), [*args, "--level", "cluster"])
    assert bad.exit_code == 2 and "--level" in bad.output


def test_cli_names_a_missing_column_and_file(tmp_path: Path) -> None:
    _export(tmp_path / "tickets.csv")
    result = CliRunner().invoke(_cli(), ["cluster", str(tmp_path / "tickets.csv"), "--text-column", "body"])
    assert result.exit_code == 2
    assert "'body'" in result.output
    assert "ticket, text, note" in result.output
    missing = CliRunner(env={"COLUMNS": "400"}).invoke(_cli(), ["cluster", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2
    assert "does not exist" in missing.output
    bad = CliRunner().invoke(_cli(), ["cluster", str(tmp_path / "tickets.csv"), "--method", "kmeans"])
    assert bad.exit_code == 2


@pytest.fixture
def api(sqlite_store: Store, tmp_path: Path) -> TestClient:
    settings = Settings(
        data_dir=tmp_path, dense_embeddings=False, auth_mode=AuthMode.closed, admin_key="admin-k"
    )
    with sqlite_store.transaction() as conn:
        keys_repo.insert_key(conn, "viewer", "viewer", hash_key("viewer-k"), dt_to_ms(AS_OF))
    return TestClient(create_app(settings, sqlite_store))


def test_clusters_endpoint_reports_themes_and_the_active_embedding(
    api: TestClient, sqlite_store: Store
) -> None:
    load(sqlite_store, themed_tickets({"webhook": 20, "cart": 12}, wordings=1))
    response = api.get(
        "/themes",
        params={"as_of": AS_OF.isoformat(), "window_minutes": 60},
        headers={"X-API-Key": "viewer-k"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["embedding_model"] == "tfidf-lsa"
    assert body["dense_enabled"] is False
    assert isinstance(body["dense_available"], bool)
    assert body["tickets"] == 32
    assert len(body["themes"]) == 2
    theme = body["themes"][0]
    assert theme["size"] == 20
    for field in (
        "id",
        "label",
        "top_terms",
        "representatives",
        "merchants",
        "stages",
        "trend",
        "anomaly_ids",
    ):
        assert field in theme
    earlier = api.get(
        "/themes",
        params={"as_of": (AS_OF - timedelta(hours=2)).isoformat()},
        headers={"X-API-Key": "viewer-k"},
    )
    assert {t["group_id"] for t in body["themes"]} == {g["id"] for g in body["groups"]}
    assert sum(g["size"] for g in body["groups"]) == 32 - body["unassigned_tickets"]
    assert body["floods"] == []
    assert earlier.json()["themes"] == []
    alias = api.get(
        "/clusters",
        params={"as_of": AS_OF.isoformat(), "window_minutes": 60},
        headers={"X-API-Key": "viewer-k"},
    )
    assert alias.status_code == 200
    assert alias.json() == body  # the deprecated name answers exactly like /themes


def test_clusters_endpoint_rejects_bad_input_and_anonymous_callers(api: TestClient) -> None:
    assert api.get("/themes").status_code == 401
    bad = api.get("/themes", params={"window_minutes": 0}, headers={"X-API-Key": "viewer-k"})
    assert bad.status_code == 422
    assert "window_minutes" in bad.text
    assert (
        api.get("/themes", params={"as_of": "yesterday"}, headers={"X-API-Key": "viewer-k"}).status_code
        == 422
    )
