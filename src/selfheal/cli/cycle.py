"""`selfheal cycle`: run one agent cycle and print what it found."""

from __future__ import annotations

from typing import Annotated

import typer

from selfheal.cli.common import console, parse_time
from selfheal.settings import Settings


def register(app: typer.Typer) -> None:
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
            CycleDeps(store=store, settings=settings), parse_time(as_of), window_minutes, use_llm, "cli"
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
        if result.outcome.notifications:
            console.print(
                f"  {len(result.outcome.notifications)} notification(s) queued: sent by a running "
                "`selfheal api` / `selfheal worker`, or now with `selfheal notify`"
            )
