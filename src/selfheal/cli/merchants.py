"""`selfheal merchants ...`: load the merchant directory (CSV or JSON) through the API, list it, show one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from selfheal.cli.common import console, report_error
from selfheal.errors import SelfhealError
from selfheal.settings import Settings

merchants_app = typer.Typer(help="The merchant directory: import, list, show.", no_args_is_help=True)
ApiOption = Annotated[str | None, typer.Option("--api-url", "--api", help="API base URL (SELFHEAL_API_URL)")]


def register(app: typer.Typer) -> None:
    app.add_typer(merchants_app, name="merchants")


def _client(api_url: str | None) -> Any:
    from selfheal.client import SelfhealClient

    return SelfhealClient.from_settings(Settings(), base_url=api_url, timeout=300)


@merchants_app.command("import")
def import_merchants(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A .csv or .json directory file")],
    fmt: Annotated[str | None, typer.Option("--format", help="csv or json (default: by extension)")] = None,
    api_url: ApiOption = None,
) -> None:
    """Upsert the file's merchants (all or nothing). A changed stage is appended to the stage history."""
    from selfheal.ingest.merchants import detect_format

    try:
        kind = detect_format(file.name, fmt)
    except SelfhealError as exc:
        report_error(exc)
        raise typer.Exit(2) from None
    content_type = "text/csv" if kind == "csv" else "application/json"
    with _client(api_url) as client:
        try:
            answer = client.import_merchants(file.read_bytes(), content_type)
        except SelfhealError as exc:
            report_error(exc)
            raise typer.Exit(1) from None
    console.print(
        f"[green]merchants: {answer['received']} received, {answer['created']} created, {answer['updated']} "
        f"updated, {answer['unchanged']} unchanged, {answer['stage_moves']} stage moves[/green]"
    )


@merchants_app.command("list")
def list_merchants(
    stage: Annotated[str | None, typer.Option(help="Only merchants now in this stage")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    api_url: ApiOption = None,
) -> None:
    """The directory as JSON lines, by merchant id."""
    with _client(api_url) as client:
        try:
            rows = client.merchants(limit=limit, offset=offset, stage=stage)
        except SelfhealError as exc:
            report_error(exc)
            raise typer.Exit(1) from None
    for row in rows:
        typer.echo(json.dumps(row, sort_keys=True))


@merchants_app.command("show")
def show_merchant(merchant_id: str, api_url: ApiOption = None) -> None:
    """One merchant with its stage history, as JSON."""
    with _client(api_url) as client:
        try:
            typer.echo(json.dumps(client.merchant(merchant_id), indent=2, sort_keys=True))
        except SelfhealError as exc:
            report_error(exc)
            raise typer.Exit(1) from None
