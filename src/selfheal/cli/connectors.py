"""`selfheal connectors ...`: the inbound connectors run from the command line (the Prometheus pull)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from selfheal.cli.common import console, parse_time, report_error
from selfheal.errors import InvalidInput, SelfhealError
from selfheal.records import utcnow
from selfheal.settings import Settings

_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def since_time(value: str, now: datetime) -> datetime:
    """`90m`, `2h`, `1d` before now, or an ISO 8601 time (no zone: UTC)."""
    match = _DURATION.match(value.strip())
    if match:
        return now - timedelta(**{_UNIT[match.group(2)]: int(match.group(1))})
    try:
        moment = parse_time(value)
    except ValueError as exc:
        raise InvalidInput(
            f"--since {value!r} is neither a duration (90m, 2h, 1d) nor an ISO 8601 time",
            {"field": "since", "reason": "not a time"},
        ) from exc
    assert moment is not None
    return moment


def register(app: typer.Typer) -> None:
    connectors = typer.Typer(help="Inbound connectors (docs/connectors.md).", no_args_is_help=True)
    prometheus = typer.Typer(help="The Prometheus source of KPI metric points.", no_args_is_help=True)
    connectors.add_typer(prometheus, name="prometheus")
    app.add_typer(connectors, name="connectors")

    @prometheus.command("pull")
    def pull_command(
        since: Annotated[str, typer.Option(help="Start: a duration before now (90m, 2h, 1d) or an ISO time")],
        until: Annotated[str | None, typer.Option(help="End (ISO time); default now minus the lag")] = None,
        config: Annotated[
            Path | None, typer.Option(help="Source config, JSON or YAML (default SELFHEAL_PROMETHEUS_CONFIG)")
        ] = None,
        url: Annotated[
            str | None, typer.Option(help="Prometheus base URL (default SELFHEAL_PROMETHEUS_URL)")
        ] = None,
    ) -> None:
        """Fetch the configured PromQL expressions with query_range and store them as KPI metric points
        (idempotent: points already stored are counted as duplicates)."""
        from selfheal.connect.prometheus import load_source, pull
        from selfheal.store import Store

        settings = Settings()
        if url:
            settings = settings.model_copy(update={"prometheus_url": url})
        path = config or settings.prometheus_config
        try:
            if path is None:
                raise InvalidInput(
                    "no source config: pass --config or set SELFHEAL_PROMETHEUS_CONFIG", {"field": "config"}
                )
            source = load_source(path)
            now = utcnow()
            start = since_time(since, now)
            end = parse_time(until) if until else None
            store = Store.open(settings.resolved_database_url())
            try:
                result = pull(store, settings, source, since=start, until=end)
            finally:
                store.dispose()
        except SelfhealError as exc:
            report_error(exc)
            raise typer.Exit(1) from exc
        except ValueError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
        typer.echo(result.model_dump_json(indent=2))
