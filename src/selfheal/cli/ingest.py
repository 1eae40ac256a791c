"""`selfheal ingest`: stream a signal file to the API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from selfheal.cli.common import console
from selfheal.cli.remote import ApiKeyOption, ApiOption, report
from selfheal.errors import SelfhealError


def register(app: typer.Typer) -> None:
    @app.command()
    def ingest(
        kind: Annotated[str, typer.Argument(help="tickets, logs or metrics")],
        file: Annotated[
            Path, typer.Argument(exists=True, dir_okay=False, help=".jsonl/.ndjson, .csv or .json")
        ],
        batch_size: Annotated[int, typer.Option(help="Items per request")] = 5000,
        api_url: ApiOption = None,
        api_key: ApiKeyOption = None,
    ) -> None:
        """Stream a file of any size to the API in batches, with a progress bar."""
        from selfheal.client import SelfhealClient, signal_kind
        from selfheal.client.ingest import IngestStopped, ingest_file
        from selfheal.settings import Settings

        try:
            signals = signal_kind(kind)
        except ValueError:
            raise typer.BadParameter("kind must be tickets, logs or metrics") from None
        settings = Settings()
        with SelfhealClient.from_settings(settings, base_url=api_url, api_key=api_key, timeout=300) as client:
            try:
                totals = ingest_file(client, signals, file, batch_size, console)
            except SelfhealError as exc:
                report(exc)
                if isinstance(exc, IngestStopped):
                    console.print(exc.summary())
                raise typer.Exit(1) from None
        console.print(f"[green]{kind}: {totals.stored} stored, {totals.duplicates} duplicates[/green]")
