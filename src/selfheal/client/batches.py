"""Signals as request bodies: typed items or a file of any size, cut into batches the API accepts."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path

import orjson
from pydantic import BaseModel

CONTENT_TYPES = {".csv": "text/csv", ".json": "application/json"}
"""Content type by file suffix; anything else is read as NDJSON (.jsonl, .ndjson)."""


def ndjson_batches(items: Sequence[BaseModel], size: int) -> Iterator[bytes]:
    """`items` as NDJSON, `size` per batch, without the fields that are None."""
    for start in range(0, len(items), size):
        yield b"\n".join(
            orjson.dumps(i.model_dump(mode="json", exclude_none=True)) for i in items[start : start + size]
        )


def file_content_type(path: Path) -> str:
    return CONTENT_TYPES.get(path.suffix.lower(), "application/x-ndjson")


def file_batches(path: Path, size: int) -> Iterator[bytes]:
    """The file in batches of `size` items, each a complete body of the file's own format.

    CSV: every batch repeats the header row. JSON: an array (or one object) re-encoded as arrays.
    NDJSON: streamed line by line; blank lines are skipped."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield from _csv_batches(path, size)
    elif suffix == ".json":
        data = orjson.loads(path.read_bytes())
        items = data if isinstance(data, list) else [data]
        for start in range(0, len(items), size):
            yield orjson.dumps(items[start : start + size])
    else:
        yield from _ndjson_file_batches(path, size)


def _csv_batches(path: Path, size: int) -> Iterator[bytes]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        header = fh.readline()
        lines: list[str] = []
        for row in csv.reader(fh):
            buf = io.StringIO()
            csv.writer(buf).writerow(row)
            lines.append(buf.getvalue())
            if len(lines) >= size:
                yield (header + "".join(lines)).encode()
                lines = []
        if lines:
            yield (header + "".join(lines)).encode()


def _ndjson_file_batches(path: Path, size: int) -> Iterator[bytes]:
    with path.open("rb") as fh:
        chunk: list[bytes] = []
        for line in fh:
            if line.strip():
                chunk.append(line.rstrip(b"\r\n"))
            if len(chunk) >= size:
                yield b"\n".join(chunk)
                chunk = []
        if chunk:
            yield b"\n".join(chunk)
