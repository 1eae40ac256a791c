"""Helpdesk exports to the signal contract's tickets: Zendesk (the incremental ticket export's JSON and the
CSV export), Freshdesk's CSV export and Jira's CSV export.

Each ticket gets a stable id (`zendesk:123`, `freshdesk:45`, `jira:PAY-7`), so importing the same export again
stores nothing new (ingest keeps the first copy of an id). The merchant comes from a configurable field (the
requester's organisation by default, or a custom field) and, optionally, a map from that field's values to
merchant ids. HTML bodies become text; tags and priority are kept; the stage is left to the merchant
directory. A malformed file raises `InvalidInput` naming the line (CSV) or index (JSON), the field and the
reason, before anything is sent.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from pydantic import ValidationError

from selfheal.connect.tickets.html import body_text
from selfheal.errors import InvalidInput
from selfheal.signals import Ticket

MAX_REPORTED_ERRORS = 50


class ExportFormat(StrEnum):
    zendesk = "zendesk"
    """Zendesk incremental ticket export: `{"tickets": [...], "end_time": ..., "next_page": ...}`."""
    zendesk_csv = "zendesk-csv"
    freshdesk = "freshdesk"
    """Freshdesk's ticket export as CSV."""
    jira = "jira"
    """Jira's issue export as CSV (all fields)."""


DEFAULT_MERCHANT_FIELD = {
    ExportFormat.zendesk: "organization_id",
    ExportFormat.zendesk_csv: "Organization",
    ExportFormat.freshdesk: "Company Name",
    ExportFormat.jira: "Custom field (Merchant)",
}
"""Where the merchant is by default: the requester's organisation (Zendesk, Freshdesk's company), a custom
field in Jira. Zendesk JSON also takes `custom_fields.<field id>`, `requester_id` or any top-level field."""


@dataclass(frozen=True)
class ImportOptions:
    merchant_field: str | None = None
    """The export's field holding the merchant (None: the format's default)."""
    merchant_map: dict[str, str] | None = None
    """Field value -> merchant id (e.g. Zendesk organisation id -> merchant id); None: the value is the id."""
    skip_unmapped: bool = False
    """Skip (and count) tickets whose merchant is missing or unmapped, instead of refusing the file."""
    timezone: str = "UTC"
    """The zone of CSV times written without one."""


@dataclass
class ImportedTickets:
    tickets: list[Ticket]
    skipped: list[dict[str, Any]] = field(default_factory=list)
    """Tickets left out with `skip_unmapped`: where, and why."""


@dataclass
class _Row:
    where: dict[str, Any]
    """`{"line": n}` (CSV, the line the record starts on) or `{"index": i}` (JSON)."""
    item: dict[str, Any] | None
    merchant_key: str | None
    merchant_field: str


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, where: dict[str, Any], field_name: str | None, reason: str) -> None:
        self.items.append({**where, "field": field_name, "reason": reason})

    def raise_if_any(self, total: int) -> None:
        if self.items:
            bad = len(
                {tuple(sorted((k, v) for k, v in e.items() if k in ("line", "index"))) for e in self.items}
            )
            raise InvalidInput(
                f"{bad} of {total} tickets in the export are invalid; nothing was imported",
                {
                    "errors": self.items[:MAX_REPORTED_ERRORS],
                    "truncated": len(self.items) > MAX_REPORTED_ERRORS,
                },
            )


# -- times ---------------------------------------------------------------------------------------------------

_CSV_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M %z",
    "%Y-%m-%d %H:%M",
    "%d/%b/%y %I:%M %p",  # Jira's default, e.g. 12/Mar/24 2:15 PM
    "%d/%b/%Y %I:%M %p",
    "%d/%b/%y %H:%M",
    "%a, %d %b %Y %H:%M:%S %z",
)


def parse_time(value: str, zone: tzinfo) -> datetime:
    """An export's time: ISO 8601 or one of the helpdesks' CSV forms; a time without a zone is in `zone`."""
    text = value.strip()
    if not text:
        raise ValueError("is empty")
    moment: datetime | None = None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        for fmt in _CSV_TIME_FORMATS:
            try:
                moment = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if moment is None:
        raise ValueError(
            f"{text!r} is not a time this importer reads (ISO 8601, 2024-03-12 14:15:00, 12/Mar/24 2:15 PM)"
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            "unknown time zone", {"field": "timezone", "reason": f"{name!r} is not a zone name"}
        ) from None


# -- CSV -----------------------------------------------------------------------------------------------------


def _csv_records(data: bytes) -> Iterator[tuple[int, list[str], dict[str, list[str]]]]:
    """(start line, header, column -> values) per record; a column repeated in the header (Jira's `Labels`)
    collects every value."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            "the export is not UTF-8 text", {"line": None, "field": None, "reason": str(exc)}
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InvalidInput(
            "the CSV header cannot be read", {"line": 1, "field": None, "reason": str(exc)}
        ) from None
    if not header or not any(h.strip() for h in header):
        raise InvalidInput("the CSV has no header row", {"line": 1, "field": None, "reason": "empty file"})
    header = [h.strip() for h in header]
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InvalidInput(
                "a CSV record cannot be read", {"line": start, "field": None, "reason": str(exc)}
            ) from None
        if any(cell.strip() for cell in row):
            if len(row) != len(header):
                raise InvalidInput(
                    "a CSV record has the wrong number of cells",
                    {
                        "line": start,
                        "field": None,
                        "reason": f"{len(row)} cells, the header has {len(header)}",
                    },
                )
            cells: dict[str, list[str]] = {}
            for name, value in zip(header, row, strict=True):
                cells.setdefault(name, []).append(value.strip())
            yield start, header, cells
        start = reader.line_num + 1


def _first(cells: dict[str, list[str]], name: str) -> str:
    return next((v for v in cells.get(name, []) if v), "")


def _require_columns(header: list[str], needed: tuple[str, ...], fmt: ExportFormat) -> None:
    missing = [c for c in needed if c not in header]
    if missing:
        raise InvalidInput(
            f"not a {fmt.value} export: the header lacks {', '.join(repr(c) for c in missing)}",
            {"line": 1, "field": missing[0], "reason": "missing column"},
        )


_FRESHDESK_PRIORITY = {"1": "low", "2": "medium", "3": "high", "4": "urgent"}


def _csv_rows(
    data: bytes, fmt: ExportFormat, merchant_field: str, zone: tzinfo, errors: _Errors
) -> list[_Row]:
    spec = _CSV_SPECS[fmt]
    rows: list[_Row] = []
    checked = False
    for line, header, cells in _csv_records(data):
        if not checked:
            _require_columns(header, (*spec.required, merchant_field), fmt)
            checked = True
        where = {"line": line}
        item = spec.build(cells, zone, where, errors)
        rows.append(_Row(where, item, _first(cells, merchant_field) or None, merchant_field))
    if not checked:
        raise InvalidInput(
            "the export holds no tickets", {"line": None, "field": None, "reason": "no records"}
        )
    return rows


@dataclass(frozen=True)
class _CsvSpec:
    required: tuple[str, ...]
    build: Callable[[dict[str, list[str]], tzinfo, dict[str, Any], _Errors], dict[str, Any] | None]


def _time_cell(
    cells: dict[str, list[str]], name: str, zone: tzinfo, where: dict[str, Any], errors: _Errors
) -> str | None:
    try:
        return parse_time(_first(cells, name), zone).isoformat()
    except ValueError as exc:
        errors.add(where, name, str(exc))
        return None


def _id_cell(cells: dict[str, list[str]], name: str, where: dict[str, Any], errors: _Errors) -> str | None:
    value = _first(cells, name)
    if not value:
        errors.add(where, name, "is empty")
        return None
    return value


def _zendesk_csv(
    cells: dict[str, list[str]], zone: tzinfo, where: dict[str, Any], errors: _Errors
) -> dict[str, Any] | None:
    ident = _id_cell(cells, "Id", where, errors)
    created = _time_cell(cells, "Created at", zone, where, errors)
    if ident is None or created is None:
        return None
    return {
        "id": f"zendesk:{ident}",
        "created_at": created,
        "subject": _first(cells, "Subject"),
        "body": body_text(_first(cells, "Description")),
        "priority": _first(cells, "Priority").lower() or None,
        "channel": _first(cells, "Via").lower() or None,
        "tags": _first(cells, "Tags").split(),
        "status": _first(cells, "Status").lower() or None,
        "source_system": "zendesk",
    }


def _freshdesk(
    cells: dict[str, list[str]], zone: tzinfo, where: dict[str, Any], errors: _Errors
) -> dict[str, Any] | None:
    ident = _id_cell(cells, "Ticket ID", where, errors)
    created = _time_cell(cells, "Created time", zone, where, errors)
    if ident is None or created is None:
        return None
    priority = _first(cells, "Priority")
    return {
        "id": f"freshdesk:{ident}",
        "created_at": created,
        "subject": _first(cells, "Subject"),
        "body": body_text(_first(cells, "Description")),
        "priority": _FRESHDESK_PRIORITY.get(priority, priority.lower()) or None,
        "channel": _first(cells, "Source").lower() or None,
        "tags": [t.strip() for t in _first(cells, "Tags").split(",") if t.strip()],
        "status": _first(cells, "Status").lower() or None,
        "source_system": "freshdesk",
    }


def _jira(
    cells: dict[str, list[str]], zone: tzinfo, where: dict[str, Any], errors: _Errors
) -> dict[str, Any] | None:
    key = _id_cell(cells, "Issue key", where, errors)
    created = _time_cell(cells, "Created", zone, where, errors)
    if key is None or created is None:
        return None
    return {
        "id": f"jira:{key}",
        "created_at": created,
        "subject": _first(cells, "Summary"),
        "body": body_text(_first(cells, "Description")),
        "priority": _first(cells, "Priority").lower() or None,
        "tags": [v for v in cells.get("Labels", []) if v],
        "status": _first(cells, "Status").lower() or None,
        "issue_type": _first(cells, "Issue Type") or None,
        "source_system": "jira",
    }


_CSV_SPECS = {
    ExportFormat.zendesk_csv: _CsvSpec(("Id", "Subject", "Created at"), _zendesk_csv),
    ExportFormat.freshdesk: _CsvSpec(("Ticket ID", "Subject", "Created time"), _freshdesk),
    ExportFormat.jira: _CsvSpec(("Issue key", "Summary", "Created"), _jira),
}


# -- Zendesk JSON --------------------------------------------------------------------------------------------


def _zendesk_value(ticket: dict[str, Any], name: str) -> Any:
    if name.startswith("custom_fields."):
        wanted = name.split(".", 1)[1]
        for f in ticket.get("custom_fields") or []:
            if isinstance(f, dict) and str(f.get("id")) == wanted:
                return f.get("value")
        return None
    return ticket.get(name)


def _zendesk_rows(data: bytes, merchant_field: str, errors: _Errors) -> list[_Row]:
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(
            "the export is not valid JSON", {"index": None, "field": None, "reason": str(exc)}
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("tickets"), list):
        raise InvalidInput(
            "not a Zendesk ticket export: expected an object with a `tickets` array",
            {"index": None, "field": "tickets", "reason": f"got {type(doc).__name__}"},
        )
    rows = []
    for i, t in enumerate(doc["tickets"]):
        where = {"index": i}
        if not isinstance(t, dict):
            errors.add(where, None, "a ticket must be an object")
            rows.append(_Row(where, None, None, merchant_field))
            continue
        item = _zendesk_item(t, where, errors)
        raw = _zendesk_value(t, merchant_field)
        key = None if raw is None or raw == "" else str(raw)
        rows.append(_Row(where, item, key, merchant_field))
    return rows


def _zendesk_item(t: dict[str, Any], where: dict[str, Any], errors: _Errors) -> dict[str, Any] | None:
    ident = t.get("id")
    if not isinstance(ident, int | str) or isinstance(ident, bool) or ident == "":
        errors.add(where, "id", "must be the ticket's number")
        return None
    created = t.get("created_at")
    if not isinstance(created, str):
        errors.add(where, "created_at", "must be an ISO 8601 time")
        return None
    tags = t.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(x, str) for x in tags):
        errors.add(where, "tags", "must be a list of strings")
        return None
    via_value = t.get("via")
    via: dict[str, Any] = via_value if isinstance(via_value, dict) else {}
    subject = t.get("subject") or t.get("raw_subject") or ""
    description = t.get("description") or ""
    if not isinstance(subject, str) or not isinstance(description, str):
        errors.add(where, "subject" if not isinstance(subject, str) else "description", "must be text")
        return None
    priority = t.get("priority")
    return {
        "id": f"zendesk:{ident}",
        "created_at": created,
        "subject": subject,
        "body": body_text(description),
        "priority": priority if isinstance(priority, str) else None,
        "channel": via.get("channel") if isinstance(via.get("channel"), str) else None,
        "tags": tags,
        "status": t.get("status") if isinstance(t.get("status"), str) else None,
        "source_system": "zendesk",
    }


# -- the whole file ------------------------------------------------------------------------------------------


def parse_export(data: bytes, fmt: ExportFormat, options: ImportOptions | None = None) -> ImportedTickets:
    """Every ticket of an export as a validated contract `Ticket`; any error refuses the whole file."""
    options = options or ImportOptions()
    merchant_field = options.merchant_field or DEFAULT_MERCHANT_FIELD[fmt]
    errors = _Errors()
    if fmt is ExportFormat.zendesk:
        rows = _zendesk_rows(data, merchant_field, errors)
    else:
        rows = _csv_rows(data, fmt, merchant_field, _zone(options.timezone), errors)
    tickets: list[Ticket] = []
    skipped: list[dict[str, Any]] = []
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.item is None:
            continue
        merchant, reason = _merchant(row, options.merchant_map)
        if merchant is None:
            if options.skip_unmapped:
                skipped.append({**row.where, "ticket": row.item["id"], "reason": reason})
            else:
                errors.add(row.where, row.merchant_field, reason)
            continue
        if row.item["id"] in seen:
            errors.add(
                row.where, "id", f"ticket {row.item['id']} appears twice (first at {seen[row.item['id']]})"
            )
            continue
        seen[row.item["id"]] = row.where
        try:
            tickets.append(Ticket.model_validate({**row.item, "merchant_id": merchant}))
        except ValidationError as exc:
            for err in exc.errors(include_url=False, include_input=False):
                errors.add(row.where, ".".join(str(p) for p in err["loc"]) or None, err["msg"])
    errors.raise_if_any(len(rows))
    return ImportedTickets(tickets, skipped)


def _merchant(row: _Row, mapping: dict[str, str] | None) -> tuple[str | None, str]:
    if row.merchant_key is None:
        return None, f"no merchant: {row.merchant_field!r} is empty"
    if mapping is None:
        return row.merchant_key, ""
    merchant = mapping.get(row.merchant_key)
    if merchant is None:
        return None, f"{row.merchant_field} {row.merchant_key!r} maps to no merchant"
    return merchant, ""


def load_merchant_map(data: bytes) -> dict[str, str]:
    """A CSV map with a header row: first column the export's value (e.g. an organisation id), second the
    merchant id."""
    mapping: dict[str, str] = {}
    for line, _, cells in _csv_records(data):
        values = [v[0] for v in cells.values()]
        if len(values) < 2 or not values[0] or not values[1]:
            raise InvalidInput(
                "a merchant map row needs a value and a merchant id",
                {"line": line, "field": None, "reason": "two non-empty columns expected"},
            )
        mapping[values[0]] = values[1]
    return mapping


def map_from_labels(merchants: list[dict[str, Any]], label: str) -> dict[str, str]:
    """Label value -> merchant id, from directory entries (e.g. label `zendesk_org` = the organisation id)."""
    return {
        str(m["labels"][label]): str(m["id"])
        for m in merchants
        if isinstance(m.get("labels"), dict) and m["labels"].get(label)
    }
