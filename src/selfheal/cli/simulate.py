"""`selfheal simulate`: generate a seeded migration and write, post or store it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.console import Console

from selfheal.cli.common import console, parse_time, report_error
from selfheal.errors import SelfhealError
from selfheal.settings import Settings, secret_value

if TYPE_CHECKING:
    # Loaded when a command runs, not at startup (`selfheal --help` stays fast).
    from selfheal.client import SignalKind
    from selfheal.signals import LogEvent, MetricPoint, Ticket
    from selfheal.simulate.model import SimResult

    Signal = Ticket | LogEvent | MetricPoint

BATCH_ITEMS = 10_000
"""Signals per line-batch written to a file or posted to the API."""


def emit(
    result: SimResult,
    *,
    out: Path | None,
    post: str | None,
    db: bool,
    settings: Settings,
    console: Console,
    directory: bool = False,
) -> None:
    """Write the signals (and the merchant directory, `merchants.csv`) to files, post them to an API and/or
    store them, then say what was simulated. With `directory`, posting or storing loads the merchant
    directory first."""
    # Imported here, not at startup: the client package loads the HTTP stack.
    from selfheal.client.batches import ndjson_batches
    from selfheal.simulate import directory_csv

    kinds: tuple[tuple[SignalKind, Sequence[Signal]], ...] = (
        ("metrics", result.metrics),
        ("logs", result.logs),
        ("tickets", result.tickets),
    )
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for kind, items in kinds:
            with (out / f"{kind}.jsonl").open("wb") as fh:
                for batch in ndjson_batches(items, BATCH_ITEMS):
                    fh.write(batch + b"\n")
        (out / "truth.json").write_bytes(
            orjson.dumps(result.truth.model_dump(mode="json"), option=orjson.OPT_INDENT_2)
        )
        (out / "merchants.csv").write_bytes(directory_csv(result.truth.merchants))
        console.print(f"wrote {out}/metrics.jsonl, logs.jsonl, tickets.jsonl, truth.json, merchants.csv")
    if post is not None:
        from selfheal.client import SelfhealClient

        with SelfhealClient(post, secret_value(settings.api_key)) as client:
            if directory:
                client.import_merchants(directory_csv(result.truth.merchants), "text/csv")
            for kind, items in kinds:
                client.ingest_batches(kind, ndjson_batches(items, BATCH_ITEMS))
        console.print(f"posted to {post}")
    if db:
        from selfheal.simulate import load_into
        from selfheal.store import Store

        load_into(Store.open(settings.resolved_database_url()), result, with_directory=directory)
        console.print(f"stored in {settings.resolved_database_url()}")
    counts = ", ".join(f"{len(items)} {kind}" for kind, items in kinds)
    console.print(f"simulated {counts}; {len(result.truth.faults)} fault(s)")
    for f in result.truth.faults:
        console.print(
            f"  {f.name} ({f.category}) {f.onset:%H:%M}-{f.end:%H:%M} UTC on {len(f.merchants)} merchants: "
            f"{f.lost_orders} lost orders, {f.lost_revenue:,.2f} lost revenue"
        )
    for warning in result.truth.warnings:
        typer.echo(f"warning: {warning}", err=True)


def register(app: typer.Typer) -> None:
    @app.command()
    def simulate(
        out: Annotated[
            Path | None, typer.Option(help="Write JSONL files and truth.json to this folder")
        ] = None,
        post: Annotated[
            str | None, typer.Option(help="Post the signals to this API base URL instead")
        ] = None,
        db: Annotated[bool, typer.Option(help="Write straight into the configured database")] = False,
        merchants: Annotated[int, typer.Option()] = 50,
        seed: Annotated[int, typer.Option()] = 7,
        start: Annotated[
            str | None, typer.Option(help="ISO start; default: hours ago, so it ends now")
        ] = None,
        hours: Annotated[float, typer.Option(help="Simulated span")] = 6.0,
        history_days: Annotated[
            float, typer.Option(help="Extra days of metrics-only history before the span")
        ] = 0,
        fault: Annotated[
            list[str] | None,
            typer.Option(
                help="NAME@START_MINUTE+DURATION[:stage1,stage2|#m001,m002] e.g. webhook_403@120+60:wave_1"
            ),
        ] = None,
        family: Annotated[
            str | None,
            typer.Option(
                help="Variant family drawn per fault and seed: catalogue, status_mix, versioned, scope_ramp, "
                "flapping_noise, kpi_gaps, any_hour, graphql_stageless, skewed_quiet, gappy_daytime (status codes, ramp, failure "
                "share, flapping, background errors, naming, stages, tickets, gaps in the records)"
            ),
        ] = None,
        directory: Annotated[
            bool,
            typer.Option(
                help="Load the merchants into the merchant directory (with --post or --db); tickets and KPI "
                "points then carry no stage: it comes from the directory"
            ),
        ] = False,
    ) -> None:
        """Generate a seeded headless-checkout migration with injected faults and its ground truth."""
        from selfheal.simulate import SimConfig, make_merchants
        from selfheal.simulate import simulate as run_sim
        from selfheal.simulate.families import FAMILIES, apply_family, background_faults, draw
        from selfheal.simulate.faults import FAULTS as FAULTS_ONLY
        from selfheal.simulate.faults import parse_fault

        begin = parse_time(start) or (datetime.now(UTC) - timedelta(hours=hours)).replace(
            second=0, microsecond=0
        )
        origin = begin - timedelta(days=history_days)
        specs = tuple(parse_fault(f, begin) for f in (fault or []))
        variant, sigma = None, 0.8
        if family is not None:
            if family not in FAMILIES:
                console.print(f"[red]unknown family {family!r}; known: {', '.join(FAMILIES)}[/red]")
                raise typer.Exit(2)
            draws = [draw(family, s.name, seed) for s in specs if s.name in FAULTS_ONLY] or [
                draw(family, "webhook_403", seed)
            ]
            specs = tuple(
                apply_family(s, draw(family, s.name, seed)) if s.name in FAULTS_ONLY else s for s in specs
            )
            anchor = specs[0].start if specs else begin
            sigma = draws[0].traffic_sigma
            shops = make_merchants(merchants, seed, "USD", sigma)
            largest_first = tuple(m.id for m in sorted(shops, key=lambda m: -m.attempts_per_minute))
            variant = draws[0].signal_variant(anchor, largest_first)
            end = origin + timedelta(minutes=int((hours + history_days * 24) * 60))
            specs = (*specs, *background_faults(draws[0], shops, origin, anchor, end, seed))
        config = SimConfig(
            seed=seed,
            merchants=merchants,
            start=origin,
            minutes=int((hours + history_days * 24) * 60),
            faults=specs,
            logs_from=begin,
            variant=variant,
            traffic_sigma=sigma,
            stages_from_directory=directory,
        )
        result = run_sim(config)
        try:
            emit(result, out=out, post=post, db=db, settings=Settings(), console=console, directory=directory)
        except SelfhealError as exc:  # --post: the API refused a batch or cannot be reached
            report_error(exc)
            raise typer.Exit(1) from None
