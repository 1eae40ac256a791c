"""`selfheal merchants import` and `selfheal import tickets` against a live API over SQLite: every format
posts through the API, re-importing stores nothing new, and a bad file stores nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from selfheal.cli import app
from selfheal.client import SelfhealClient

FIXTURES = Path(__file__).parents[1] / "connect" / "fixtures"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def _stored_tickets(db_url: str) -> dict[str, dict[str, object]]:
    from sqlalchemy import select

    from selfheal.store import Store
    from selfheal.store.tables import TicketRow, table

    store = Store.open(db_url)
    try:
        with store.read() as conn:
            t = table(TicketRow)
            rows = conn.execute(select(t.c.id, t.c.merchant_id, t.c.tags, t.c.priority, t.c.migration_stage))
            return {
                r.id: {
                    "merchant": r.merchant_id,
                    "tags": r.tags,
                    "priority": r.priority,
                    "stage": r.migration_stage,
                }
                for r in rows
            }
    finally:
        store.dispose()


def test_merchants_import_list_and_show(live_api: tuple[str, str]) -> None:
    url, _ = live_api
    code, out = _run("merchants", "import", str(FIXTURES / "directory.csv"), "--api-url", url)
    assert code == 0, out
    assert "3 received, 3 created" in out
    code, out = _run("merchants", "import", str(FIXTURES / "directory.csv"), "--api-url", url)
    assert "0 created, 0 updated, 3 unchanged, 0 stage moves" in out
    code, out = _run("merchants", "list", "--api-url", url)
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["m-0001", "m-0002", "m-0003"]
    code, out = _run("merchants", "show", "m-0001", "--api-url", url)
    assert json.loads(out)["stage_history"][0]["stage"] == "wave_1"


def test_merchants_import_json_by_format_option(tmp_path: Path, live_api: tuple[str, str]) -> None:
    url, _ = live_api
    path = tmp_path / "directory.txt"
    path.write_text(json.dumps({"merchants": [{"id": "m-1", "name": "One", "stage": "pilot"}]}))
    code, out = _run("merchants", "import", str(path), "--api-url", url)
    assert code == 2 and "unknown format" in out
    code, out = _run("merchants", "import", str(path), "--format", "json", "--api-url", url)
    assert code == 0 and "1 created" in out, out


def test_a_bad_directory_file_stores_nothing(tmp_path: Path, live_api: tuple[str, str]) -> None:
    url, _ = live_api
    path = tmp_path / "directory.csv"
    path.write_text("id,name,stage,currency\nm-1,One,pilot,USD\nm-2,Two,pilot,dollars\n")
    code, out = _run("merchants", "import", str(path), "--api-url", url)
    assert code == 1
    assert '"line": 3' in out and '"field": "currency"' in out
    with SelfhealClient(url) as client:
        assert client.merchants() == []


@pytest.mark.parametrize(
    ("fmt", "fixture", "options", "expected"),
    [
        (
            "zendesk",
            "zendesk_incremental.json",
            ["--merchant-label", "zendesk_org"],
            {"zendesk:35436": "m-0001", "zendesk:35437": "m-0002"},
        ),
        (
            "zendesk-csv",
            "zendesk_export.csv",
            ["--merchant-field", "Merchant ID [txt]"],
            {"zendesk:35436": "m-0001", "zendesk:35437": "m-0002"},
        ),
        (
            "freshdesk",
            "freshdesk_export.csv",
            ["--merchant-label", "freshdesk_company"],
            {"freshdesk:812": "m-0003", "freshdesk:813": "m-0001"},
        ),
        ("jira", "jira_export.csv", [], {"jira:PAY-101": "m-0001", "jira:PAY-102": "m-0002"}),
    ],
)
def test_import_tickets_posts_each_format_and_reimport_is_idempotent(
    live_api: tuple[str, str], fmt: str, fixture: str, options: list[str], expected: dict[str, str]
) -> None:
    url, db_url = live_api
    assert _run("merchants", "import", str(FIXTURES / "directory.csv"), "--api-url", url)[0] == 0
    args = ["import", "tickets", "--format", fmt, str(FIXTURES / fixture), *options, "--api-url", url]
    code, out = _run(*args)
    assert code == 0, out
    assert "2 received, 2 stored, 0 duplicates" in out
    stored = _stored_tickets(db_url)
    assert {k: v["merchant"] for k, v in stored.items()} == expected
    assert all(
        v["stage"] is None for v in stored.values()
    )  # the directory supplies it when a cycle reads them
    assert all(v["tags"] and v["priority"] for v in stored.values())
    code, out = _run(*args)
    assert code == 0 and "2 received, 0 stored, 2 duplicates" in out, out
    assert len(_stored_tickets(db_url)) == 2


def test_import_tickets_with_a_map_file(tmp_path: Path, live_api: tuple[str, str]) -> None:
    url, db_url = live_api
    mapping = tmp_path / "orgs.csv"
    mapping.write_text("organization_id,merchant_id\n509974,m-0001\n509975,m-0002\n")
    code, out = _run(
        "import",
        "tickets",
        "--format",
        "zendesk",
        str(FIXTURES / "zendesk_incremental.json"),
        "--merchant-map",
        str(mapping),
        "--api",
        url,
    )
    assert code == 0, out
    assert "2 stored" in out
    # no directory loaded: tickets of any merchant are stored, nothing is reported
    assert "not in the directory" not in out
    assert set(_stored_tickets(db_url)) == {"zendesk:35436", "zendesk:35437"}


def test_import_tickets_reports_merchants_the_directory_lacks(
    tmp_path: Path, live_api: tuple[str, str]
) -> None:
    url, _ = live_api
    directory = tmp_path / "one.json"
    directory.write_text(json.dumps([{"id": "m-0001", "name": "One", "stage": "pilot"}]))
    assert _run("merchants", "import", str(directory), "--api-url", url)[0] == 0
    code, out = _run(
        "import", "tickets", "--format", "jira", str(FIXTURES / "jira_export.csv"), "--api-url", url
    )
    assert code == 0, out
    assert "1 merchants not in the directory: m-0002" in out


def test_a_bad_export_stores_nothing(tmp_path: Path, live_api: tuple[str, str]) -> None:
    url, db_url = live_api
    bad = tmp_path / "jira.csv"
    good = (FIXTURES / "jira_export.csv").read_text()
    bad.write_text(good.replace("30/Nov/26 2:15 PM,30/Nov/26 2:15 PM", "the day after,30/Nov/26 2:15 PM"))
    code, out = _run("import", "tickets", "--format", "jira", str(bad), "--api-url", url)
    assert code == 1
    assert '"line": 4' in out and '"field": "Created"' in out
    assert _stored_tickets(db_url) == {}
    code, out = _run(
        "import",
        "tickets",
        "--format",
        "zendesk",
        str(FIXTURES / "zendesk_incremental.json"),
        "--merchant-label",
        "zendesk_org",
        "--api-url",
        url,
    )
    assert code == 1 and "maps to no merchant" in out  # no directory yet: no label maps anything
    assert _stored_tickets(db_url) == {}


def test_import_tickets_out_writes_the_contract(tmp_path: Path) -> None:
    out_file = tmp_path / "tickets.jsonl"
    code, out = _run(
        "import",
        "tickets",
        "--format",
        "freshdesk",
        str(FIXTURES / "freshdesk_export.csv"),
        "--merchant-field",
        "Email",
        "--out",
        str(out_file),
    )
    assert code == 0, out
    rows = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert [r["merchant_id"] for r in rows] == ["cy@shop-three.example", "ana@shop-one.example"]
    assert "migration_stage" not in rows[0]


def test_simulate_directory_posts_the_merchants_and_stageless_tickets(
    tmp_path: Path, live_api: tuple[str, str]
) -> None:
    url, db_url = live_api
    sim = ["simulate", "--merchants", "6", "--hours", "1", "--start", "2026-03-02T10:00:00Z", "--seed", "5"]
    code, out = _run(*sim, "--fault", "webhook_403@20+30", "--directory", "--post", url)
    assert code == 0, out
    with SelfhealClient(url) as client:
        merchants = client.merchants()
        assert [m["id"] for m in merchants] == [f"m{i:03d}" for i in range(1, 7)]
        assert client.unknown_merchants(window_minutes=120, as_of="2026-03-02T11:00:00Z") == []
    assert all(v["stage"] is None for v in _stored_tickets(db_url).values())
    code, out = _run(*sim, "--out", str(tmp_path / "sim"))
    assert code == 0 and (tmp_path / "sim" / "merchants.csv").read_text().startswith("id,name,stage")
