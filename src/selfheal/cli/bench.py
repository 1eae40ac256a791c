"""`selfheal bench ...`: the scenario benchmark of the decide stage and the ingest throughput benchmark."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from selfheal.cli.common import console


def register(bench_app: typer.Typer) -> None:
    @bench_app.command("scenarios")
    def scenarios(
        seeds: Annotated[int, typer.Option(help="Seeds per fault")] = 5,
        merchants: Annotated[int, typer.Option(help="Simulated merchants")] = 50,
        faults: Annotated[str | None, typer.Option(help="Comma-separated fault names (default: all)")] = None,
        quiet_days: Annotated[int, typer.Option(help="Fault-free days replayed for false incidents")] = 7,
        quiet_step_minutes: Annotated[
            int,
            typer.Option(
                help="Minutes between cycles on the quiet days (>= 120; each cycle's hour is logged)"
            ),
        ] = 120,
        concurrent_seeds: Annotated[int, typer.Option(help="Seeds of the two-faults-at-once scenario")] = 3,
        families: Annotated[
            str,
            typer.Option(
                help="Comma-separated variant families, or 'all' (tuned: catalogue, status_mix, versioned, "
                "scope_ramp, flapping_noise, kpi_gaps, any_hour; held out: graphql_stageless, skewed_quiet, gappy_daytime)"
            ),
        ] = "catalogue",
        quiet_decoys: Annotated[bool, typer.Option(help="Decoys in the quiet week's logged hours")] = True,
        workdir: Annotated[Path | None, typer.Option(help="Where the scenario databases go")] = None,
        out: Annotated[Path | None, typer.Option(help="Write the full JSON report here")] = None,
    ) -> None:
        """Replay every catalogue fault through whole cycles and score the decisions against the truth."""
        from selfheal.bench.scenarios import parse_families, run
        from selfheal.simulate import FAULTS

        report = run(
            seeds=seeds,
            merchants=merchants,
            faults=tuple(f for f in faults.split(",") if f) if faults else tuple(FAULTS),
            quiet_days=quiet_days,
            quiet_step_minutes=quiet_step_minutes,
            concurrent_seeds=concurrent_seeds,
            workdir=workdir,
            families=parse_families(families),
            quiet_decoys=quiet_decoys,
        )
        if out:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(report, indent=2, default=str))
        typer.echo(json.dumps(report["summary"], indent=2, default=str))

    @bench_app.command("recovery")
    def recovery(
        seeds: Annotated[int, typer.Option(help="Seeds (one simulated fault and fix each)")] = 3,
        merchants: Annotated[int, typer.Option(help="Simulated merchants")] = 30,
        stage: Annotated[str, typer.Option(help="Stage the fault hits")] = "wave_1",
        fault: Annotated[str, typer.Option(help="Catalogue fault")] = "webhook_403",
        resolve_cycles: Annotated[int, typer.Option(help="Normal cycles before an incident resolves")] = 3,
        step_minutes: Annotated[int, typer.Option(help="Minutes between cycles")] = 5,
        workdir: Annotated[Path | None, typer.Option(help="Where the databases go")] = None,
        out: Annotated[Path | None, typer.Option(help="Write the full JSON report here")] = None,
    ) -> None:
        """A fault that a fixing action ends: cycles from the fix to `recovering` and to `resolved`, severity
        after the fix, the incident's onset and its loss so far against the simulator's truth."""
        from selfheal.bench.recovery import run

        report = run(
            seeds=seeds,
            merchants=merchants,
            stage=stage,
            fault=fault,
            resolve_cycles=resolve_cycles,
            step=step_minutes,
            workdir=workdir,
        )
        if out:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(report, indent=2, default=str))
        typer.echo(json.dumps(report["summary"], indent=2, default=str))

    @bench_app.command("ingest")
    def bench_ingest(
        events: Annotated[int, typer.Option(help="Log events to post")] = 1_000_000,
        batch_size: Annotated[int, typer.Option()] = 10_000,
        concurrency: Annotated[int, typer.Option()] = 2,
        api_url: Annotated[str | None, typer.Option(help="Use a running API instead of starting one")] = None,
        database_url: Annotated[
            str | None, typer.Option(help="Database for the API the benchmark starts")
        ] = None,
        workers: Annotated[int, typer.Option(help="Worker processes of the API the benchmark starts")] = 1,
    ) -> None:
        """Post log events through the HTTP API; report events/s and the API's peak memory."""
        from selfheal.bench.ingest import run_ingest_benchmark

        report = run_ingest_benchmark(
            events, batch_size, concurrency, api_url, database_url, console, workers
        )
        typer.echo(json.dumps(report, indent=2))
