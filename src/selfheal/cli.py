"""The `selfheal` command line (Typer). Each command builds Settings at the edge and calls the core."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from selfheal import cli_admin, cli_bench_scenarios, cli_cluster, cli_detect, cli_kb, cli_llm
from selfheal.errors import SelfhealError
from selfheal.settings import Settings, settings_table

app = typer.Typer(
    help="selfheal: observe -> reason -> decide -> act over commerce-platform signals.",
    no_args_is_help=True,
    add_completion=False,
)
bench_app = typer.Typer(help="Benchmarks (figures go to docs/benchmarks.md).", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
cli_llm.register(app)
cli_bench_scenarios.register(bench_app)
cli_admin.register(app)
cli_cluster.register(app)
cli_detect.register(app)
cli_kb.register(app)
console = Console(stderr=True)


def _parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Bind address (SELFHEAL_API_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (SELFHEAL_API_PORT)")] = None,
    workers: Annotated[int, typer.Option(help="Uvicorn worker processes")] = 1,
) -> None:
    """Serve the HTTP API (migrations are applied on start)."""
    import uvicorn

    settings = Settings()
    from selfheal.store import Store

    Store.open(settings.resolved_database_url()).dispose()  # migrate once, before workers start
    uvicorn.run(
        "selfheal.api.main:app",
        host=host or settings.api_host,
        port=port or settings.api_port,
        workers=workers,
        log_level="warning",
    )


@app.command()
def ui(port: Annotated[int | None, typer.Option(help="Port (SELFHEAL_UI_PORT)")] = None) -> None:
    """Serve the Streamlit UI (it talks to the API at SELFHEAL_API_URL)."""
    import subprocess

    settings = Settings()
    script = Path(__file__).parent / "ui" / "app.py"
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.port",
        str(port or settings.ui_port),
        "--server.address",
        settings.api_host,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
    ]
    raise typer.Exit(subprocess.call(cmd))


@app.command()
def ingest(
    kind: Annotated[str, typer.Argument(help="tickets, logs or metrics")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".jsonl/.ndjson, .csv or .json")],
    batch_size: Annotated[int, typer.Option(help="Items per request")] = 5000,
    api_url: Annotated[str | None, typer.Option(help="API base URL (SELFHEAL_API_URL)")] = None,
) -> None:
    """Stream a file of any size to the API in batches, with a progress bar."""
    from selfheal.client_ingest import ingest_file

    settings = Settings()
    if kind not in ("tickets", "logs", "metrics"):
        raise typer.BadParameter("kind must be tickets, logs or metrics")
    try:
        totals = ingest_file(api_url or settings.api_url, settings.api_key, kind, file, batch_size, console)
    except SelfhealError as exc:
        console.print(f"[red]{exc.message}[/red]")
        if exc.details:
            console.print_json(data=exc.details)
        raise typer.Exit(1) from None
    console.print(f"[green]{kind}: {totals['stored']} stored, {totals['duplicates']} duplicates[/green]")


@app.command()
def simulate(
    out: Annotated[Path | None, typer.Option(help="Write JSONL files and truth.json to this folder")] = None,
    post: Annotated[str | None, typer.Option(help="Post the signals to this API base URL instead")] = None,
    db: Annotated[bool, typer.Option(help="Write straight into the configured database")] = False,
    merchants: Annotated[int, typer.Option()] = 50,
    seed: Annotated[int, typer.Option()] = 7,
    start: Annotated[str | None, typer.Option(help="ISO start; default: hours ago, so it ends now")] = None,
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
    from selfheal.simulate.cli_support import emit, parse_fault

    begin = _parse_time(start) or (datetime.now(UTC) - timedelta(hours=hours)).replace(
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


@app.command()
def cycle(
    as_of: Annotated[str | None, typer.Option(help="ISO time; default now")] = None,
    window_minutes: Annotated[int | None, typer.Option()] = None,
    use_llm: Annotated[bool, typer.Option("--llm/--no-llm")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole result as JSON")] = False,
) -> None:
    """Run one agent cycle on the configured database and print what it found."""
    from selfheal.cycle import CycleDeps, run_cycle
    from selfheal.store import Store

    settings = Settings()
    store = Store.open(settings.resolved_database_url())
    result = run_cycle(
        CycleDeps(store=store, settings=settings), _parse_time(as_of), window_minutes, use_llm, "cli"
    )
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    obs = result.observation
    console.print(
        f"cycle {result.cycle_id} as of {result.as_of:%Y-%m-%d %H:%M} UTC, {result.window_minutes} min"
    )
    console.print(
        f"  signals: {obs.counts.log_events} log events, {obs.counts.metric_points} metric points, "
        f"{obs.counts.tickets} tickets"
    )
    console.print(
        f"  findings: {len(result.findings.anomalies)} anomalies, "
        f"{len(result.findings.soft_failures)} soft-failure gaps, {len(result.findings.themes)} themes"
    )
    if result.assessment:
        console.print(f"  incident {result.outcome.incident_id}: [bold]{result.assessment.title}[/bold]")
        console.print(f"  {result.assessment.summary}")
        if result.assessment.narrative_note:
            console.print(f"  narrative: {result.assessment.narrative_note}")
    else:
        console.print("  no incident")


@app.command()
def demo(
    speed: Annotated[float | None, typer.Option(help="Catch-up speed (simulated s per real s)")] = None,
    no_ui: Annotated[bool, typer.Option("--no-ui", help="Do not start the UI")] = False,
) -> None:
    """Start the API and UI on the embedded database, with a live simulated migration feeding signals."""
    from selfheal.demo import run_demo

    run_demo(Settings(), speed=speed, with_ui=not no_ui, console=console)


@app.command("settings")
def show_settings(
    markdown: Annotated[bool, typer.Option(help="Markdown table")] = True,
    update_readme: Annotated[Path | None, typer.Option(help="Rewrite the table in this README")] = None,
) -> None:
    """List every SELFHEAL_* setting with its default (or write the table into README.md)."""
    if update_readme is not None:
        text = update_readme.read_text()
        start = text.index("<!-- settings:start -->") + len("<!-- settings:start -->")
        end = text.index("<!-- settings:end -->")
        update_readme.write_text(text[:start] + "\n" + settings_table() + "\n" + text[end:])
    elif markdown:
        typer.echo(settings_table())
    else:
        typer.echo(json.dumps(Settings().model_dump(mode="json"), indent=2))


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
    from selfheal.bench_ingest import run_ingest_benchmark

    report = run_ingest_benchmark(events, batch_size, concurrency, api_url, database_url, console, workers)
    typer.echo(json.dumps(report, indent=2))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
