"""Streaming a signal file to the API in batches, with a progress bar (used by `selfheal ingest`)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TransferSpeedColumn

from selfheal.client.api import IngestCounts, SelfhealClient, SignalKind
from selfheal.client.batches import file_batches, file_content_type
from selfheal.client.errors import ApiError


def ingest_file(
    client: SelfhealClient, kind: SignalKind, path: Path, batch_size: int, console: Console
) -> IngestCounts:
    """Post `path` batch by batch; stop at the first rejected batch (earlier batches stay stored).

    A rejected batch raises an `ApiError` whose message says which batch and the HTTP status."""
    total = IngestCounts()
    size = path.stat().st_size
    content_type = file_content_type(path)
    with Progress(
        TextColumn(f"{kind}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TransferSpeedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(kind, total=size)
        sent = 0
        for number, body in enumerate(file_batches(path, batch_size)):
            try:
                total += client.ingest(kind, body, content_type)
            except ApiError as exc:
                if exc.status is None:
                    raise
                raise type(exc)(
                    f"batch {number} rejected ({exc.status}): {exc.message}",
                    exc.hint,
                    exc.status,
                    exc.code,
                    exc.details,
                ) from exc
            sent += len(body)
            progress.update(task, completed=min(sent, size))
    return total
