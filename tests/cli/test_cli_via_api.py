"""`cycle`, `ingest` and `runbooks` as clients of a real closed-mode API: keys, roles, messages, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from selfheal.cli import app

ENV = {"SELFHEAL_API_KEY": "", "SELFHEAL_API_URL": "http://127.0.0.1:9"}
"""Nothing from the environment: each test names the API and the key."""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=ENV)
    return result.exit_code, result.stdout, result.stderr


def test_ingest_takes_an_api_key_and_its_401_names_the_variable(
    closed_api: tuple[str, str], tmp_path: Path
) -> None:
    url, admin_key = closed_api
    code, _, err = run(
        "simulate",
        "--out",
        str(tmp_path / "sim"),
        "--merchants",
        "4",
        "--hours",
        "1",
        "--start",
        "2026-03-02T10:00:00Z",
    )
    assert code == 0, err
    metrics = str(tmp_path / "sim" / "metrics.jsonl")
    code, _, err = run("ingest", "metrics", metrics, "--api", url)
    assert code == 1
    assert "SELFHEAL_API_KEY" in err and "--api-key" in err
    code, out, err = run("ingest", "metrics", metrics, "--api", url, "--api-key", admin_key)
    assert code == 0, err
    assert "240 stored" in out + err

    code, out, err = run(
        "cycle", "--as-of", "2026-03-02T11:00:00Z", "--json", "--api", url, "--api-key", admin_key
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["observation"]["counts"]["metric_points"] == 4 * 60
    code, out, _ = run("cycle", "--as-of", "2026-03-02T11:00:00Z", "--api", url, "--api-key", admin_key)
    assert code == 0 and "4 * 60" not in out and "240 metric points" in out
    code, _, err = run("cycle", "--as-of", "yesterday-ish", "--api", url)
    assert code == 2  # a usage error, not an API error


def test_runbooks_through_the_api(closed_api: tuple[str, str], tmp_path: Path) -> None:
    url, admin_key = closed_api
    key = ("--api", url, "--api-key", admin_key)
    code, _, err = run("runbooks", "starter", *key)
    assert code == 0, err
    assert "loaded 6 starter runbooks" in err
    code, out, err = run("runbooks", "search", "webhook signature 403", "--json", "--top", "3", *key)
    assert code == 0, err
    line = json.loads(out)
    assert line["hits"][0]["document"] == "webhook-order-created-403.md"
    folder = tmp_path / "rb"
    folder.mkdir()
    (folder / "ok.md").write_text("# Cache\n\nFlush the edge cache when prices are stale.\n")
    (folder / "empty.txt").write_text("")
    code, _, err = run("runbooks", "add", str(folder), *key)
    assert code == 1  # the API refuses the batch: exit 1 with its reason
    code, _, err = run("runbooks", "add", str(folder), "--skip-bad", *key)
    assert code == 0, err
    assert "skipped" in err and "added 1 documents" in err
    code, out, _ = run("runbooks", "list", *key)
    assert len(out.splitlines()) == 7
    code, _, err = run("runbooks", "clear", "--yes", "--api", url, "--api-key", "shk_nope")
    assert code == 1 and "SELFHEAL_API_KEY" in err
