"""`selfheal cycle`: ask the API to run one agent cycle and print what it found."""

from __future__ import annotations

from typing import Annotated

import typer

from selfheal.cli.common import parse_time
from selfheal.cli.remote import ApiKeyOption, ApiOption, JsonOption, api_client, print_json


def register(app: typer.Typer) -> None:
    @app.command()
    def cycle(
        as_of: Annotated[str | None, typer.Option(help="ISO time; default now")] = None,
        window_minutes: Annotated[int | None, typer.Option(min=1)] = None,
        use_llm: Annotated[bool, typer.Option("--llm/--no-llm")] = False,
        api: ApiOption = None,
        api_key: ApiKeyOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Run one agent cycle on the API's data (POST /run_cycle; an operator key) and print what it found."""
        try:
            moment = parse_time(as_of)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--as-of") from None
        with api_client(api, api_key) as client:
            result = client.run_cycle(moment.isoformat() if moment else None, window_minutes, use_llm)
        if as_json:
            print_json(result)
            return
        obs = result["observation"]
        counts = obs["counts"]
        findings = result["findings"]
        typer.echo(
            f"cycle {result['cycle_id']} as of {str(result['as_of'])[:16].replace('T', ' ')} UTC, "
            f"{result['window_minutes']} min"
        )
        typer.echo(
            f"  signals: {counts['log_events']} log events, {counts['metric_points']} metric points, "
            f"{counts['tickets']} tickets"
        )
        typer.echo(
            f"  findings: {len(findings['anomalies'])} anomalies, "
            f"{len(findings['soft_failures'])} soft-failure gaps, {len(findings['themes'])} themes"
        )
        assessment = result.get("assessment")
        if assessment:
            typer.echo(f"  incident {result['outcome']['incident_id']}: {assessment['title']}")
            typer.echo(f"  {assessment['summary']}")
            if assessment.get("narrative_note"):
                typer.echo(f"  narrative: {assessment['narrative_note']}")
        else:
            typer.echo("  no incident")
        for action in result["outcome"].get("actions") or []:
            typer.echo(
                f"  action {action.get('action_id') or action.get('id')}: {action.get('key')} {action.get('status')}"
            )
        notifications = result["outcome"].get("notifications") or []
        if notifications:
            typer.echo(
                f"  {len(notifications)} notification(s) queued: sent by a running "
                "`selfheal api` / `selfheal worker`, or now with `selfheal notify`"
            )
