"""Helpdesk exports to contract tickets, against fixtures in the providers' documented wire formats:

- fixtures/zendesk_incremental.json: the time-based incremental ticket export
  (https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/) whose tickets
  are the Tickets API's ticket object (https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/):
  id, created_at, subject, description, priority, status, tags, organization_id, requester_id,
  custom_fields [{id, value}], via.channel; the page has next_page, count, end_of_stream, end_time.
- fixtures/zendesk_export.csv: Zendesk's CSV ticket export (Reporting > Export), one column per ticket field,
  custom fields as "Title [type]", space-separated tags, times as "YYYY-MM-DD HH:MM:SS +0000".
- fixtures/freshdesk_export.csv: Freshdesk's ticket export (Tickets > Export, CSV): "Ticket ID", "Subject",
  "Description" (HTML), "Priority", "Source", "Created time", "Tags" (comma-separated), "Company Name", ...
- fixtures/jira_export.csv: Jira's issue search export "CSV (all fields)": "Summary", "Issue key", "Priority",
  "Created" (dd/MMM/yy h:mm a), one "Labels" column per label, "Description", "Custom field (Merchant)"
  (https://support.atlassian.com/jira-software-cloud/docs/export-issues-and-filters/).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from selfheal.connect.tickets import (
    ExportFormat,
    ImportOptions,
    html_to_text,
    load_merchant_map,
    map_from_labels,
    parse_export,
)
from selfheal.errors import InvalidInput

FIXTURES = Path(__file__).parent / "fixtures"


def _read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_zendesk_incremental_export_maps_organisation_through_a_map() -> None:
    mapping = {"509974": "m-0001", "509975": "m-0002"}
    imported = parse_export(
        _read("zendesk_incremental.json"), ExportFormat.zendesk, ImportOptions(merchant_map=mapping)
    )
    first, second = imported.tickets
    assert first.id == "zendesk:35436" and first.merchant_id == "m-0001"
    assert first.created_at == datetime(2026, 11, 30, 9, 15, 2, tzinfo=UTC)
    assert first.priority == "urgent" and first.channel == "web"
    assert first.tags == ["checkout", "headless", "enterprise"]
    assert first.migration_stage is None  # the directory supplies it
    assert (
        first.body
        == "Since this morning our customers get a 403 at checkout.\n\n- order #1001\n- order #1002\n\nPayments & refunds look fine."
    )
    assert "<" not in first.body
    assert first.extras()["status"] == "open"
    assert second.id == "zendesk:35437" and second.merchant_id == "m-0002" and second.channel == "email"


def test_zendesk_custom_field_names_the_merchant() -> None:
    options = ImportOptions(merchant_field="custom_fields.27642")
    imported = parse_export(_read("zendesk_incremental.json"), ExportFormat.zendesk, options)
    assert [t.merchant_id for t in imported.tickets] == ["m-0001", "m-0002"]


def test_zendesk_csv_export() -> None:
    imported = parse_export(
        _read("zendesk_export.csv"),
        ExportFormat.zendesk_csv,
        ImportOptions(merchant_field="Merchant ID [txt]"),
    )
    first = imported.tickets[0]
    assert first.id == "zendesk:35436"  # the same id as the JSON export: the two never double-count
    assert first.created_at == datetime(2026, 11, 30, 9, 15, 2, tzinfo=UTC)
    assert first.tags == ["checkout", "headless", "enterprise"]
    assert first.priority == "urgent" and first.channel == "web form"
    assert [t.merchant_id for t in imported.tickets] == ["m-0001", "m-0002"]


def test_freshdesk_export_company_to_merchant_by_directory_labels() -> None:
    directory = [
        {"id": "m-0001", "labels": {"freshdesk_company": "Shop One"}},
        {"id": "m-0003", "labels": {"freshdesk_company": "Shop Three"}},
        {"id": "m-0009", "labels": {}},
    ]
    options = ImportOptions(
        merchant_map=map_from_labels(directory, "freshdesk_company"), timezone="Europe/Berlin"
    )
    imported = parse_export(_read("freshdesk_export.csv"), ExportFormat.freshdesk, options)
    payment, discount = imported.tickets
    assert payment.id == "freshdesk:812" and payment.merchant_id == "m-0003"
    assert payment.body == "Hi team,\nthe payment went through (pi_3Ox) but no order was created.\n\nThanks"
    assert (
        payment.tags == ["payments", "orders"] and payment.priority == "urgent" and payment.channel == "email"
    )
    assert payment.created_at == datetime(2026, 11, 30, 7, 5, 40, tzinfo=UTC)  # 08:05:40 Berlin
    assert discount.merchant_id == "m-0001"


def test_jira_export_repeated_labels_and_custom_field() -> None:
    imported = parse_export(_read("jira_export.csv"), ExportFormat.jira)
    bug, slow = imported.tickets
    assert bug.id == "jira:PAY-101" and bug.merchant_id == "m-0001"
    assert bug.tags == ["webhooks", "headless", "wave_1"]
    assert bug.priority == "highest"
    assert bug.created_at == datetime(2026, 11, 30, 9, 20, tzinfo=UTC)
    assert "Steps: place an order" in bug.body
    assert slow.created_at == datetime(2026, 11, 30, 14, 15, tzinfo=UTC) and slow.tags == ["latency"]


def test_unmapped_merchants_refuse_the_file_or_are_skipped() -> None:
    data = _read("zendesk_incremental.json")
    with pytest.raises(InvalidInput) as caught:
        parse_export(data, ExportFormat.zendesk, ImportOptions(merchant_map={"509974": "m-0001"}))
    err = caught.value.details["errors"][0]
    assert err == {
        "index": 1,
        "field": "organization_id",
        "reason": "organization_id '509975' maps to no merchant",
    }
    kept = parse_export(
        data, ExportFormat.zendesk, ImportOptions(merchant_map={"509974": "m-0001"}, skip_unmapped=True)
    )
    assert [t.id for t in kept.tickets] == ["zendesk:35436"]
    assert kept.skipped == [
        {"index": 1, "ticket": "zendesk:35437", "reason": "organization_id '509975' maps to no merchant"}
    ]


@pytest.mark.parametrize(
    ("fmt", "data", "where", "field"),
    [
        (
            ExportFormat.jira,
            b"Summary,Issue key,Created,Custom field (Merchant)\nok,P-1,30/Nov/26 9:20 AM,m\nbad,P-2,someday,m\n",
            {"line": 3},
            "Created",
        ),
        (
            ExportFormat.jira,
            b"Summary,Issue key,Created,Custom field (Merchant)\nok,P-1,30/Nov/26 9:20 AM,m\nno key,,30/Nov/26 9:20 AM,m\n",
            {"line": 3},
            "Issue key",
        ),
        (
            ExportFormat.freshdesk,
            b"Ticket ID,Subject,Created time,Company Name\n1,a,2026-11-30 08:00:00,\n",
            {"line": 2},
            "Company Name",
        ),
        (
            ExportFormat.zendesk,
            b'{"tickets": [{"id": 1, "created_at": "2026-11-30T09:00:00Z", "organization_id": 5}, {"id": 2, "created_at": 17, "organization_id": 5}]}',
            {"index": 1},
            "created_at",
        ),
        (
            ExportFormat.zendesk,
            b'{"tickets": [{"id": 1, "created_at": "2026-11-30T09:00:00Z", "organization_id": 5}, {"id": 1, "created_at": "2026-11-30T09:00:00Z", "organization_id": 5}]}',
            {"index": 1},
            "id",
        ),
    ],
)
def test_a_bad_record_names_its_place_field_and_reason(
    fmt: ExportFormat, data: bytes, where: dict[str, int], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_export(data, fmt)
    err = caught.value.details["errors"][0]
    assert {k: err[k] for k in where} == where and err["field"] == field and err["reason"]


@pytest.mark.parametrize(
    ("fmt", "data", "field"),
    [
        (ExportFormat.jira, b"Summary,Created\nx,30/Nov/26 9:20 AM\n", "Issue key"),
        (
            ExportFormat.freshdesk,
            b"Ticket ID,Subject,Created time\n1,a,2026-11-30 08:00:00\n",
            "Company Name",
        ),
        (ExportFormat.zendesk, b'[{"id": 1}]', "tickets"),
    ],
)
def test_a_file_of_another_shape_is_refused(fmt: ExportFormat, data: bytes, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_export(data, fmt)
    assert caught.value.details["field"] == field


def test_broken_csv_and_json_name_the_line() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_export(
            b"Ticket ID,Subject,Created time,Company Name\n1,a,2026-11-30 08:00:00\n", ExportFormat.freshdesk
        )
    assert caught.value.details["line"] == 2
    with pytest.raises(InvalidInput) as caught:
        parse_export(b'{"tickets": [', ExportFormat.zendesk)
    assert "JSON" in caught.value.message


def test_merchant_map_file() -> None:
    assert load_merchant_map(b"organization_id,merchant_id\n509974,m-0001\n509975,m-0002\n") == {
        "509974": "m-0001",
        "509975": "m-0002",
    }
    with pytest.raises(InvalidInput):
        load_merchant_map(b"organization_id,merchant_id\n509974,\n")


def test_html_to_text() -> None:
    assert (
        html_to_text("<p>a&nbsp;b</p><script>x()</script><br>c &lt;d&gt;") == "a b\n\nc <d>"
    )  # a no-break space is whitespace too
    assert html_to_text("plain   text") == "plain text"
