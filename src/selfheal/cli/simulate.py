"""`selfheal simulate`: generate a seeded migration and write, post or store it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console

from selfheal.cli.common import console, parse_time
from selfheal.settings import Settings
from selfheal.simulate.faults import parse_fault
from selfheal.simulate.model import SimResult


def ndjson_batches(items: Sequence[Any], size: int) -> Iterator[bytes]:
    for start in range(0, len(items), size):
        yield b"\n".join(
            orjson.dumps(i.model_dump(mode="json", exclude_none=True)) for i in items[start : start + size]
        )


def emit(
    result: SimResult, *, out: Path | None, post: str | None, db: bool, settings: Settings, console: Console
) -> None:
    kinds: tuple[tuple[str, Sequence[Any]], ...] = (
        ("metrics", result.metrics),
        ("logs", result.logs),
        ("tickets", result.tickets),
    )
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for kind, items in kinds:
            with (out / f"{kind}.jsonl").open("wb") as fh:
                for batch in ndjson_batches(items, 10_000):
                    fh.write(batch + b"\n")
        (out / "truth.json").write_bytes(
            orjson.dumps(result.truth.model_dump(mode="json"), option=orjson.OPT_INDENT_2)
        )
        console.print(f"wrote {out}/metrics.jsonl, logs.jsonl, tickets.jsonl, truth.json")
    if post is not None:
        import httpx

        headers = {"content-type": "application/x-ndjson"}
        if settings.api_key:
            headers["x-api-key"] = settings.api_key
        with httpx.Client(base_url=post, timeout=120, headers=headers) as client:
            for kind, items in kinds:
                for batch in ndjson_batches(items, 10_000):
                    client.post(f"/ingest/{kind}", content=batch).raise_for_status()
        console.print(f"posted to {post}")
    if db:
        from selfheal.simulate import load_into
        from selfheal.store import Store

        load_into(Store.open(settings.resolved_database_url()), result)
        console.print(f"stored in {settings.resolved_database_url()}")
    counts = ", ".join(f"{len(items)} {kind}" for kind, items in kinds)
    console.print(f"simulated {counts}; {len(result.truth.faults)} fault(s)")
    for f in result.truth.faults:
        console.print(
            f"  {f.name} ({f.category}) {f.onset:%H:%M}-{f.end:%H:%M} UTC on {len(f.merchants)} merchants: "
            f"{f.lost_orders} lost orders, {f.lost_revenue:,.2f} lost revenue"
        )


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
    ) -> None:
        """Generate a seeded headless-checkout migration with injected faults and its ground truth."""
        from selfheal.simulate import SimConfig
        from selfheal.simulate import simulate as run_sim

        begin = parse_time(start) or (datetime.now(UTC) - timedelta(hours=hours)).replace(
            second=0, microsecond=0
        )
        origin = begin - timedelta(days=history_days)
        specs = tuple(parse_fault(f, begin) for f in (fault or []))
        config = SimConfig(
            seed=seed,
            merchants=merchants,
            start=origin,
            minutes=int((hours + history_days * 24) * 60),
            faults=specs,
            logs_from=begin,
        )
        result = run_sim(config)
        emit(result, out=out, post=post, db=db, settings=Settings(), console=console)
