"""Streaming a signal file to the API in batches, with a progress bar (used by `selfheal ingest`)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TransferSpeedColumn

from selfheal.client.api import IngestCounts, SelfhealClient, SignalKind
from selfheal.client.batches import file_batches, file_content_type
from selfheal.client.errors import ApiError


class IngestStopped(ApiError):
    """The file was not sent to the end; the batches before `acknowledged` are stored (the API said so)."""

    code = "ingest_stopped"

    def __init__(self, cause: ApiError, number: int, acknowledged: IngestCounts) -> None:
        super().__init__(
            f"batch {number} {'rejected (' + str(cause.status) + ')' if cause.status else 'not acknowledged'}: "
            f"{cause.message}",
            cause.hint,
            cause.status,
            cause.code,
            cause.details,
        )
        self.batches_acknowledged = number
        self.acknowledged = acknowledged

    def summary(self) -> str:
        a = self.acknowledged
        return (
            f"{self.batches_acknowledged} batches acknowledged before the stop ({a.received} items: {a.stored} "
            f"stored, {a.duplicates} duplicates); batch {self.batches_acknowledged} and later were not stored "
            "(sending the file again is safe: stored items count as duplicates)"
        )


def ingest_file(
    client: SelfhealClient, kind: SignalKind, path: Path, batch_size: int, console: Console
) -> IngestCounts:
    """Post `path` batch by batch; stop at the first rejected or unanswered batch (earlier batches stay stored).

    A stop raises `IngestStopped`: which batch, the HTTP status if any, and the counts the API acknowledged."""
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
                raise IngestStopped(exc, number, total) from exc
            sent += len(body)
            progress.update(task, completed=min(sent, size))
    return total
