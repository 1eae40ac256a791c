"""Streaming a signal file to the API in batches (used by `selfheal ingest`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TransferSpeedColumn

from selfheal.errors import InvalidInput


def _batches(path: Path, size: int) -> Iterator[tuple[bytes, str]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            header = fh.readline()
            lines: list[str] = []
            for row in csv.reader(fh):
                buf = io.StringIO()
                csv.writer(buf).writerow(row)
                lines.append(buf.getvalue())
                if len(lines) >= size:
                    yield (header + "".join(lines)).encode(), "text/csv"
                    lines = []
            if lines:
                yield (header + "".join(lines)).encode(), "text/csv"
        return
    if suffix == ".json":
        data = orjson.loads(path.read_bytes())
        items = data if isinstance(data, list) else [data]
        for start in range(0, len(items), size):
            yield orjson.dumps(items[start : start + size]), "application/json"
        return
    with path.open("rb") as fh:
        chunk: list[bytes] = []
        for line in fh:
            if line.strip():
                chunk.append(line.rstrip(b"\r\n"))
            if len(chunk) >= size:
                yield b"\n".join(chunk), "application/x-ndjson"
                chunk = []
        if chunk:
            yield b"\n".join(chunk), "application/x-ndjson"


def ingest_file(
    api_url: str, api_key: str | None, kind: str, path: Path, batch_size: int, console: Console
) -> dict[str, int]:
    """Post `path` batch by batch; stop at the first rejected batch (earlier batches stay stored)."""
    headers = {"x-api-key": api_key} if api_key else {}
    totals = {"received": 0, "stored": 0, "duplicates": 0}
    size = path.stat().st_size
    with (
        httpx.Client(base_url=api_url, timeout=300, headers=headers) as client,
        Progress(
            TextColumn(f"{kind}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TransferSpeedColumn(),
            console=console,
        ) as progress,
    ):
        task = progress.add_task(kind, total=size)
        sent = 0
        for number, (body, content_type) in enumerate(_batches(path, batch_size)):
            response = client.post(f"/ingest/{kind}", content=body, headers={"content-type": content_type})
            if response.status_code >= 400:
                detail = response.json().get("error", {}) if response.content else {}
                raise InvalidInput(
                    f"batch {number} rejected ({response.status_code}): {detail.get('message', response.text)}",
                    detail.get("details"),
                )
            result = response.json()
            for key in totals:
                totals[key] += int(result[key])
            sent += len(body)
            progress.update(task, completed=min(sent, size))
    return totals
