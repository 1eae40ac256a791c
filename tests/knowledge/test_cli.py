from __future__ import annotations

import json
from pathlib import Path

import typer
from tests.knowledge.conftest import store_url
from tests.knowledge.pdfgen import encrypt_pdf, make_pdf
from typer.testing import CliRunner

from selfheal.cli import runbooks as cli_runbooks
from selfheal.store import Store

app = typer.Typer()
cli_runbooks.register(app)


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "runbooks"
    (folder / "nested").mkdir(parents=True)
    (folder / "webhook.md").write_text("# Webhook 403\n\nSigning secret mismatch rejects deliveries.\n")
    (folder / "nested" / "cart.txt").write_text("Cart sync\n\nCarts come back empty with 409.\n")
    (folder / "psp.pdf").write_bytes(make_pdf([["Payment provider"], ["authorize fails with 503"]]))
    (folder / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n")  # not a runbook suffix: ignored
    return folder


def test_add_then_search_json(tmp_path: Path, store: Store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SELFHEAL_DENSE_EMBEDDINGS", "false")
    db = store_url(store)  # a SQLite file, then a PostgreSQL schema
    runner = CliRunner()
    r = runner.invoke(app, ["runbooks", "add", str(_folder(tmp_path)), "--db", db])
    assert r.exit_code == 0, r.output
    assert "added 3 documents" in r.output

    r = runner.invoke(app, ["runbooks", "search", "signing secret", "--top", "2", "--json", "--db", db])
    assert r.exit_code == 0, r.output
    line = json.loads(r.stdout.strip().splitlines()[-1])
    assert line["hits"][0]["document"] == "webhook.md"
    assert line["hits"][0]["rank"] == 1

    queries = tmp_path / "q.jsonl"
    queries.write_text(
        json.dumps({"qid": "a", "query": "empty carts 409"})
        + "\n"
        + json.dumps({"qid": "b", "query": "authorize 503"})
    )
    r = runner.invoke(
        app, ["runbooks", "search", "--queries", str(queries), "--json", "--top", "1", "--db", db]
    )
    assert r.exit_code == 0, r.output
    lines = [json.loads(x) for x in r.stdout.strip().splitlines()]
    assert [(x["qid"], x["hits"][0]["document"]) for x in lines] == [("a", "cart.txt"), ("b", "psp.pdf")]
    assert lines[1]["hits"][0]["page"] == 2

    r = runner.invoke(app, ["runbooks", "stats", "--db", db])
    assert json.loads(r.stdout)["documents"] == 3


def test_bad_file_refuses_batch_unless_skipped(  # type: ignore[no-untyped-def]
    tmp_path: Path, store: Store, monkeypatch
) -> None:
    monkeypatch.setenv("SELFHEAL_DENSE_EMBEDDINGS", "false")
    db = store_url(store)
    folder = _folder(tmp_path)
    (folder / "locked.pdf").write_bytes(encrypt_pdf(make_pdf([["x"]])))
    runner = CliRunner()
    r = runner.invoke(app, ["runbooks", "add", str(folder), "--db", db])
    assert r.exit_code == 1  # refused by the knowledge base: not a usage error
    assert "encrypted" in r.output
    assert json.loads(runner.invoke(app, ["runbooks", "stats", "--db", db]).stdout)["documents"] == 0
    r = runner.invoke(app, ["runbooks", "add", str(folder), "--db", db, "--skip-bad"])
    assert r.exit_code == 0, r.output
    assert "skipped" in r.output
    assert json.loads(runner.invoke(app, ["runbooks", "stats", "--db", db]).stdout)["documents"] == 3
    r = runner.invoke(app, ["runbooks", "clear", "--yes", "--db", db])
    assert r.exit_code == 0
    assert json.loads(runner.invoke(app, ["runbooks", "stats", "--db", db]).stdout)["documents"] == 0


def test_search_needs_query_or_file(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["kb", "search", "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert r.exit_code == 2
