"""`selfheal bench scenarios`: the decide stage's scenario benchmark over the simulator's fault catalogue."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


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
        workdir: Annotated[Path | None, typer.Option(help="Where the scenario databases go")] = None,
        out: Annotated[Path | None, typer.Option(help="Write the full JSON report here")] = None,
    ) -> None:
        """Replay every catalogue fault through whole cycles and score the decisions against the truth."""
        from selfheal.bench_scenarios import run
        from selfheal.simulate import FAULTS

        report = run(
            seeds=seeds,
            merchants=merchants,
            faults=tuple(f for f in faults.split(",") if f) if faults else tuple(FAULTS),
            quiet_days=quiet_days,
            quiet_step_minutes=quiet_step_minutes,
            concurrent_seeds=concurrent_seeds,
            workdir=workdir,
        )
        if out:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(report, indent=2, default=str))
        typer.echo(json.dumps(report["summary"], indent=2, default=str))
