"""`selfheal import tickets`: a helpdesk export (Zendesk, Freshdesk, Jira) to the API's tickets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from selfheal.cli.common import console, report_error
from selfheal.connect.tickets import ExportFormat
from selfheal.errors import SelfhealError
from selfheal.settings import Settings

import_app = typer.Typer(help="Import other systems' exports.", no_args_is_help=True)
BATCH = 1000
DIRECTORY_PAGE = 500


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")


def _directory(client: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        page = client.merchants(limit=DIRECTORY_PAGE, offset=len(rows))
        rows.extend(page)
        if len(page) < DIRECTORY_PAGE:
            return rows


@import_app.command("tickets")
def import_tickets(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The export file")],
    fmt: Annotated[
        ExportFormat, typer.Option("--format", help="zendesk (JSON), zendesk-csv, freshdesk, jira")
    ],
    merchant_field: Annotated[
        str | None,
        typer.Option(
            help="The export's field naming the merchant (default: zendesk organization_id, zendesk-csv "
            "Organization, freshdesk Company Name, jira 'Custom field (Merchant)'; zendesk also "
            "custom_fields.<id>)"
        ),
    ] = None,
    merchant_map: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="CSV: field value, merchant id (with a header row)"),
    ] = None,
    merchant_label: Annotated[
        str | None,
        typer.Option(help="Map field values to merchants by this directory label (e.g. zendesk_org)"),
    ] = None,
    skip_unmapped: Annotated[
        bool, typer.Option(help="Skip tickets without a known merchant instead of refusing the file")
    ] = False,
    timezone: Annotated[str, typer.Option(help="Zone of CSV times written without one")] = "UTC",
    out: Annotated[
        Path | None, typer.Option(help="Write the tickets as NDJSON to this file instead of posting them")
    ] = None,
    api_url: Annotated[
        str | None, typer.Option("--api-url", "--api", help="API base URL (SELFHEAL_API_URL)")
    ] = None,
) -> None:
    """Convert the export to tickets and post them to the API. The whole file is checked first: any bad
    ticket refuses it (line or index, field, reason) and nothing is sent. Re-importing is safe: ticket ids
    are stable (`zendesk:123`), so tickets already stored count as duplicates."""
    from selfheal.client import SelfhealClient
    from selfheal.client.batches import ndjson_batches
    from selfheal.connect.tickets import ImportOptions, load_merchant_map, map_from_labels, parse_export

    if merchant_map is not None and merchant_label is not None:
        raise typer.BadParameter("give --merchant-map or --merchant-label, not both")
    with SelfhealClient.from_settings(Settings(), base_url=api_url, timeout=300) as client:
        try:
            mapping = None
            if merchant_map is not None:
                mapping = load_merchant_map(merchant_map.read_bytes())
            elif merchant_label is not None:
                mapping = map_from_labels(_directory(client), merchant_label)
            options = ImportOptions(merchant_field, mapping, skip_unmapped, timezone)
            imported = parse_export(file.read_bytes(), fmt, options)
            if out is not None:
                out.write_bytes(b"".join(batch + b"\n" for batch in ndjson_batches(imported.tickets, BATCH)))
                console.print(f"[green]{len(imported.tickets)} tickets written to {out}[/green]")
            else:
                totals = client.ingest_batches("tickets", ndjson_batches(imported.tickets, BATCH))
                console.print(
                    f"[green]tickets: {totals.received} received, {totals.stored} stored, "
                    f"{totals.duplicates} duplicates[/green]"
                )
                if totals.unknown_merchants:
                    console.print(
                        f"[yellow]{len(totals.unknown_merchants)} merchants not in the directory: "
                        f"{', '.join(totals.unknown_merchants[:20])}[/yellow]"
                    )
        except SelfhealError as exc:
            report_error(exc)
            raise typer.Exit(1) from None
    if imported.skipped:
        console.print(f"[yellow]{len(imported.skipped)} tickets skipped (no known merchant)[/yellow]")
        console.print_json(orjson.dumps(imported.skipped[:20]).decode())
