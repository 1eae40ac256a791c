"""Parsing and validating ingest payloads: JSON array, NDJSON or CSV. Pure; no storage.

Every format ends in the same validator over JSON (CSV rows and decoded objects are re-encoded), so a field
means the same thing in all three: a timestamp is an ISO 8601 string in NDJSON as in CSV. The item limit is
counted while parsing (NDJSON lines and CSV rows before any item is built; a JSON array stops at the first
item past the limit), so an oversized batch costs about as much as the limit, not its own size.
"""

from __future__ import annotations

import csv
import io
from functools import lru_cache
from typing import Annotated, Any

import orjson
from pydantic import Field, TypeAdapter, ValidationError

from selfheal.errors import InvalidInput, PayloadTooLarge, SelfhealError, UnsupportedMediaType
from selfheal.ingest.count import more_items_than
from selfheal.signals import SIGNAL_MODELS

MAX_REPORTED_ERRORS = 200
UNLIMITED = 2**62

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


def too_many(max_items: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"batch has more than {max_items} items; send it in smaller batches", {"limit": max_items}
    )


def _required_columns(kind: str) -> set[str]:
    return {name for name, field in SIGNAL_MODELS[kind].model_fields.items() if field.is_required()}


def _csv_reader(kind: str, body: bytes) -> csv.DictReader[str]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("CSV body is not UTF-8", {"reason": str(exc)}) from exc
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        raise InvalidInput(
            "CSV header cannot be read", {"line": reader.line_num, "reason": str(exc)}
        ) from None
    missing = sorted(_required_columns(kind) - set(header or ()))
    if missing:
        raise InvalidInput(
            "CSV header lacks required columns (the first line must name the fields)",
            {"missing": missing, "header": list(reader.fieldnames or ())[:50]},
        )
    return reader


def _csv_rows(kind: str, body: bytes, max_items: int = UNLIMITED) -> list[dict[str, Any]]:
    reader = _csv_reader(kind, body)
    try:
        return _csv_collect(reader, max_items)
    except csv.Error as exc:  # e.g. a bare carriage return inside an unquoted field
        raise InvalidInput("CSV row cannot be read", {"line": reader.line_num, "reason": str(exc)}) from None


def _csv_collect(reader: csv.DictReader[str], max_items: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for raw in reader:
        if len(rows) == max_items:
            raise too_many(max_items)
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


def _ndjson_lines(body: bytes, max_items: int) -> list[bytes]:
    lines = [line for line in body.splitlines() if line.strip()]
    if len(lines) > max_items:
        raise too_many(max_items)
    return lines


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


def decode(body: bytes, content_type: str | None, kind_name: str = "tickets") -> list[Any]:
    """Body bytes to a list of raw items, by Content-Type."""
    kind = media_type(content_type)
    if kind in CSV_TYPES:
        return _csv_rows(kind_name, body)
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


@lru_cache(maxsize=32)
def _limited_adapter(kind: str, max_items: int) -> TypeAdapter[Any]:
    model = SIGNAL_MODELS[kind]
    return TypeAdapter(Annotated[list[model], Field(max_length=max_items)])  # type: ignore[valid-type, arg-type]


def _adapter(kind: str, max_items: int = UNLIMITED) -> TypeAdapter[Any]:
    if kind not in SIGNAL_MODELS:
        raise InvalidInput(f"unknown signal kind {kind!r}", {"kinds": sorted(SIGNAL_MODELS)})
    return _limited_adapter(kind, max_items)


def _invalid(kind: str, exc: ValidationError, total: int | None, max_items: int) -> SelfhealError:
    if any(e["type"] == "too_long" and not e["loc"] for e in exc.errors()):
        return too_many(max_items)
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


def validate(kind: str, items: list[Any], max_items: int = UNLIMITED) -> list[Any]:
    """Validate every item; on any failure raise InvalidInput listing each bad item's index, field, reason.

    The items go through the JSON validator (the same rules as a JSON body); a value JSON cannot hold (an
    integer past 64 bits, say) is a 422 naming the reason.
    """
    if len(items) > max_items:
        raise too_many(max_items)
    try:
        data = orjson.dumps(items)
    except TypeError as exc:
        raise InvalidInput("batch holds a value JSON cannot represent", {"reason": str(exc)}) from None
    try:
        return list(_adapter(kind, max_items).validate_json(data))
    except ValidationError as exc:
        raise _invalid(kind, exc, len(items), max_items) from None


def parse_batch(kind: str, body: bytes, content_type: str | None, max_items: int = UNLIMITED) -> list[Any]:
    """Body bytes to validated signal objects, at most `max_items` of them (413 past it).

    JSON arrays and NDJSON are validated straight from bytes (pydantic-core's JSON parser, several times faster
    than building Python dicts first); anything the fast path cannot explain precisely (a JSON syntax error in
    NDJSON, a single object instead of an array, an NDJSON line holding more than one value) is re-read by
    `decode` for a precise message.
    """
    kind_type = media_type(content_type)
    adapter = _adapter(kind, max_items)
    array: bytes | None = None
    lines: int | None = None
    if kind_type in JSON_TYPES and body.lstrip()[:1] == b"[":
        if more_items_than(body, max_items):
            raise too_many(max_items)
        array = body
    elif kind_type in NDJSON_TYPES:
        found = _ndjson_lines(body, max_items)
        lines = len(found)
        array = b"[" + b",".join(found) + b"]"
    if array is not None:
        try:
            items = list(adapter.validate_json(array))
        except ValidationError as exc:
            if not any(e["type"] == "json_invalid" for e in exc.errors()):
                raise _invalid(kind, exc, None, max_items) from None
        else:
            if lines is None or len(items) == lines:
                return items
    if kind_type in CSV_TYPES:
        return validate(kind, _csv_rows(kind, body, max_items), max_items)
    return validate(kind, decode(body, content_type, kind), max_items)
