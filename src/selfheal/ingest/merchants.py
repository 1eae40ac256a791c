"""The merchant directory's input: CSV or JSON to validated `MerchantEntry` items, stored all-or-nothing.

CSV: a header row with `id`, `name`, `stage` and optionally `moved_at`, `plan`, `currency`, `labels` (a JSON
object) and any number of `label.KEY` columns (one label each; an empty cell sets no label). JSON: an array of
objects, or an object with a `merchants` array. Errors name the item (`index`, from 0), for CSV also the file
`line`, the `field` and the `reason`; any error refuses the whole batch.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from selfheal import audit
from selfheal.errors import InvalidInput, PayloadTooLarge
from selfheal.records import Record, dt_to_ms, utcnow
from selfheal.signals import MerchantEntry
from selfheal.store import Store
from selfheal.store.directory_repo import UpsertCounts, upsert_merchants
from selfheal.store.retry import run_with_retry

MAX_REPORTED_ERRORS = 50
LABEL_PREFIX = "label."
CSV_COLUMNS = ("id", "name", "stage", "moved_at", "plan", "currency", "labels")
_ENTRIES = TypeAdapter(list[MerchantEntry])


class MerchantImportResult(Record):
    received: int
    created: int
    updated: int
    unchanged: int
    stage_moves: int
    """Stage-history rows appended or corrected by this batch."""


def detect_format(name: str, declared: str | None = None) -> str:
    """`csv` or `json`, from `declared` or else the file name's extension."""
    fmt = (declared or name.rsplit(".", 1)[-1]).lower()
    if fmt not in ("csv", "json"):
        raise InvalidInput(
            "merchant files are CSV or JSON", {"field": "format", "reason": f"unknown format {fmt!r}"}
        )
    return fmt


def _csv_items(body: bytes) -> tuple[list[dict[str, Any]], list[int]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("CSV is not UTF-8", {"field": None, "reason": str(exc)}) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InvalidInput("CSV header cannot be read", {"line": 1, "reason": str(exc)}) from None
    if not header:
        raise InvalidInput("CSV has no header row", {"line": 1, "field": None, "reason": "empty file"})
    header = [h.strip() for h in header]
    unknown = [h for h in header if h not in CSV_COLUMNS and not h.startswith(LABEL_PREFIX)]
    missing = [c for c in ("id", "name", "stage") if c not in header]
    if unknown or missing:
        raise InvalidInput(
            "CSV header is not a merchant directory's",
            {
                "line": 1,
                "field": (missing or unknown)[0],
                "reason": f"missing columns {missing}" if missing else f"unknown columns {unknown}",
            },
        )
    items: list[dict[str, Any]] = []
    lines: list[int] = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise InvalidInput(
                    "CSV row has the wrong number of cells",
                    {
                        "line": reader.line_num,
                        "field": None,
                        "reason": f"{len(row)} cells, the header has {len(header)}",
                    },
                )
            items.append(_csv_item(dict(zip(header, row, strict=True)), reader.line_num))
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise InvalidInput("CSV row cannot be read", {"line": reader.line_num, "reason": str(exc)}) from None
    return items, lines


def _csv_item(cells: dict[str, str], line: int) -> dict[str, Any]:
    item: dict[str, Any] = {}
    labels: dict[str, Any] = {}
    for key, value in cells.items():
        value = value.strip()
        if key.startswith(LABEL_PREFIX):
            if value:
                labels[key[len(LABEL_PREFIX) :]] = value
        elif key == "labels":
            if value:
                try:
                    parsed = orjson.loads(value)
                except orjson.JSONDecodeError as exc:
                    raise InvalidInput(
                        "labels must be a JSON object", {"line": line, "field": "labels", "reason": str(exc)}
                    ) from None
                if not isinstance(parsed, dict):
                    raise InvalidInput(
                        "labels must be a JSON object",
                        {"line": line, "field": "labels", "reason": f"got {type(parsed).__name__}"},
                    )
                labels = {**parsed, **labels}
        elif value:
            item[key] = value
    if labels:
        item["labels"] = labels
    return item


def _json_items(body: bytes) -> list[Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("body is not valid JSON", {"field": None, "reason": str(exc)}) from None
    if isinstance(data, dict) and isinstance(data.get("merchants"), list):
        data = data["merchants"]
    if not isinstance(data, list):
        raise InvalidInput(
            "merchants must be a JSON array of objects (or an object with a `merchants` array)",
            {"field": None, "reason": f"got {type(data).__name__}"},
        )
    return data


def parse_merchants(body: bytes, fmt: str, max_items: int) -> list[MerchantEntry]:
    """Validate a whole CSV or JSON body; any bad item raises InvalidInput listing every error."""
    lines: list[int] | None = None
    if fmt == "csv":
        items, lines = _csv_items(body)
    else:
        items = _json_items(body)
    if len(items) > max_items:
        raise PayloadTooLarge(
            f"more than {max_items} merchants in one batch", {"max_items": max_items, "received": len(items)}
        )
    try:
        data = orjson.dumps(items)
    except TypeError as exc:
        raise InvalidInput(
            "merchants hold a value JSON cannot represent", {"field": None, "reason": str(exc)}
        ) from None
    try:
        entries = _ENTRIES.validate_json(data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors(include_url=False, include_input=False):
            loc = list(err["loc"])
            index = loc[0] if loc and isinstance(loc[0], int) else None
            error: dict[str, Any] = {
                "index": index,
                "field": ".".join(str(p) for p in loc[1:]) or None,
                "reason": err["msg"],
            }
            if lines is not None and index is not None:
                error["line"] = lines[index]
            errors.append(error)
        bad = len({e["index"] for e in errors})
        raise InvalidInput(
            f"{bad} of {len(items)} merchants failed validation; nothing was stored",
            {"errors": errors[:MAX_REPORTED_ERRORS], "truncated": len(errors) > MAX_REPORTED_ERRORS},
        ) from None
    _refuse_repeats(entries, lines)
    return entries


def _refuse_repeats(entries: list[MerchantEntry], lines: list[int] | None) -> None:
    first: dict[str, int] = {}
    errors = []
    for i, e in enumerate(entries):
        if e.id in first:
            error: dict[str, Any] = {
                "index": i,
                "field": "id",
                "reason": f"merchant {e.id!r} appears twice (first at index {first[e.id]})",
            }
            if lines is not None:
                error["line"] = lines[i]
            errors.append(error)
        else:
            first[e.id] = i
    if errors:
        raise InvalidInput(
            f"{len(errors)} repeated merchant ids; nothing was stored",
            {"errors": errors[:MAX_REPORTED_ERRORS], "truncated": len(errors) > MAX_REPORTED_ERRORS},
        )


def import_merchants(
    store: Store, entries: list[MerchantEntry], actor: str = "system"
) -> MerchantImportResult:
    """Upsert the merchants in one transaction (all or nothing; a race with a concurrent import re-runs it)."""

    def attempt() -> UpsertCounts:
        with store.transaction() as conn:
            counts = upsert_merchants(conn, entries, dt_to_ms(utcnow()))
            audit.record(
                conn,
                actor=actor,
                action="merchants.import",
                target_type="merchants",
                after=counts.model_dump(),
            )
        return counts

    counts = run_with_retry(attempt)
    return MerchantImportResult(**counts.model_dump())
