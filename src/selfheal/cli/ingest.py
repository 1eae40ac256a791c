"""`selfheal ingest`: stream a signal file to the API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from selfheal.cli.common import console
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
        from selfheal.client.ingest import ingest_file

        settings = Settings()
        if kind not in ("tickets", "logs", "metrics"):
            raise typer.BadParameter("kind must be tickets, logs or metrics")
        try:
            totals = ingest_file(
                api_url or settings.api_url, settings.api_key, kind, file, batch_size, console
            )
        except SelfhealError as exc:
            console.print(f"[red]{exc.message}[/red]")
            if exc.details:
                console.print_json(data=exc.details)
            raise typer.Exit(1) from None
        console.print(f"[green]{kind}: {totals['stored']} stored, {totals['duplicates']} duplicates[/green]")
