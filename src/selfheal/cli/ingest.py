"""`selfheal ingest`: stream a signal file to the API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from selfheal.cli.common import console, report_error
from selfheal.errors import SelfhealError
from selfheal.settings import Settings


def register(app: typer.Typer) -> None:
    @app.command()
    def ingest(
        kind: Annotated[str, typer.Argument(help="tickets, logs or metrics")],
        file: Annotated[
            Path, typer.Argument(exists=True, dir_okay=False, help=".jsonl/.ndjson, .csv or .json")
        ],
        batch_size: Annotated[int, typer.Option(help="Items per request")] = 5000,
        api_url: Annotated[str | None, typer.Option(help="API base URL (SELFHEAL_API_URL)")] = None,
    ) -> None:
        """Stream a file of any size to the API in batches, with a progress bar."""
        from selfheal.client import SelfhealClient, signal_kind
        from selfheal.client.ingest import IngestStopped, ingest_file

        try:
            signals = signal_kind(kind)
        except ValueError:
            raise typer.BadParameter("kind must be tickets, logs or metrics") from None
        with SelfhealClient.from_settings(Settings(), base_url=api_url, timeout=300) as client:
            try:
                totals = ingest_file(client, signals, file, batch_size, console)
            except SelfhealError as exc:
                report_error(exc)
                if isinstance(exc, IngestStopped):
                    console.print(exc.summary())
                raise typer.Exit(1) from None
        console.print(f"[green]{kind}: {totals.stored} stored, {totals.duplicates} duplicates[/green]")
