"""Parsing and validating ingest payloads: JSON array, NDJSON or CSV. Pure; no storage."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from selfheal.errors import InvalidInput, UnsupportedMediaType
from selfheal.signals import SIGNAL_MODELS, LogEvent, MetricPoint, Ticket

MAX_REPORTED_ERRORS = 200

_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "tickets": TypeAdapter(list[Ticket]),
    "logs": TypeAdapter(list[LogEvent]),
    "metrics": TypeAdapter(list[MetricPoint]),
}

JSON_TYPES = {"application/json", "text/json"}
NDJSON_TYPES = {
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonl",
    "application/json-lines",
    "application/jsonlines",
}
CSV_TYPES = {"text/csv", "application/csv"}


def media_type(content_type: str | None) -> str:
    return (content_type or "application/json").split(";")[0].strip().lower()


def _csv_rows(body: bytes) -> list[dict[str, Any]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("CSV body is not UTF-8", {"reason": str(exc)}) from exc
    reader = csv.DictReader(io.StringIO(text))
    rows: list[dict[str, Any]] = []
    for raw in reader:
        row: dict[str, Any] = {}
        for key, value in raw.items():
            if key is None:
                raise InvalidInput(
                    "CSV row has more fields than the header",
                    {"line": reader.line_num},
                )
            if value is None or value == "":
                continue
            row[key] = value
        if "tags" in row and isinstance(row["tags"], str):
            row["tags"] = [t.strip() for t in row["tags"].replace(";", ",").split(",") if t.strip()]
        rows.append(row)
    return rows


def _ndjson_rows(body: bytes) -> list[Any]:
    rows = []
    for lineno, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            raise InvalidInput("NDJSON line is not valid JSON", {"line": lineno, "reason": str(exc)}) from exc
    return rows


def decode(body: bytes, content_type: str | None) -> list[Any]:
    """Body bytes to a list of raw items, by Content-Type."""
    kind = media_type(content_type)
    if kind in CSV_TYPES:
        return _csv_rows(body)
    if kind in NDJSON_TYPES:
        return _ndjson_rows(body)
    if kind in JSON_TYPES:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput("body is not valid JSON", {"reason": str(exc)}) from exc
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            raise InvalidInput("body must be a JSON array of objects", {"type": type(data).__name__})
        return data
    raise UnsupportedMediaType(
        f"unsupported Content-Type {kind!r}",
        {"supported": sorted(JSON_TYPES | NDJSON_TYPES | CSV_TYPES)},
    )


def _adapter(kind: str) -> TypeAdapter[Any]:
    if kind not in _ADAPTERS:
        raise InvalidInput(f"unknown signal kind {kind!r}", {"kinds": sorted(SIGNAL_MODELS)})
    return _ADAPTERS[kind]


def _invalid(kind: str, exc: ValidationError, total: int | None) -> InvalidInput:
    errors = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = list(err["loc"])
        index = loc[0] if loc and isinstance(loc[0], int) else None
        field = ".".join(str(p) for p in loc[1:]) if index is not None else ".".join(map(str, loc))
        errors.append({"index": index, "field": field or None, "reason": err["msg"]})
    bad = sorted({e["index"] for e in errors if e["index"] is not None})
    of = f" of {total}" if total is not None else ""
    return InvalidInput(
        f"{len(bad)}{of} {kind} failed validation; nothing from this batch was stored",
        {
            "invalid_items": len(bad),
            "errors": errors[:MAX_REPORTED_ERRORS],
            "truncated": len(errors) > MAX_REPORTED_ERRORS,
        },
    )


def validate(kind: str, items: list[Any]) -> list[Any]:
    """Validate every item; on any failure raise InvalidInput listing each bad item's index, field, reason."""
    try:
        return list(_adapter(kind).validate_python(items))
    except ValidationError as exc:
        raise _invalid(kind, exc, len(items)) from None


def parse_batch(kind: str, body: bytes, content_type: str | None) -> list[Any]:
    """Body bytes to validated signal objects.

    JSON arrays and NDJSON are validated straight from bytes (pydantic-core's JSON parser, several times faster
    than building Python dicts first); anything the fast path cannot explain precisely (a JSON syntax error in
    NDJSON, a single object instead of an array) is re-read by `decode` for a precise message.
    """
    kind_type = media_type(content_type)
    adapter = _adapter(kind)
    array: bytes | None = None
    if kind_type in JSON_TYPES and body.lstrip()[:1] == b"[":
        array = body
    elif kind_type in NDJSON_TYPES:
        array = b"[" + b",".join(line for line in body.splitlines() if line.strip()) + b"]"
    if array is not None:
        try:
            return list(adapter.validate_json(array))
        except ValidationError as exc:
            if not any(e["type"] == "json_invalid" for e in exc.errors()):
                raise _invalid(kind, exc, None) from None
    return validate(kind, decode(body, content_type))
