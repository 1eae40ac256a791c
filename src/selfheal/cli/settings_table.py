"""`selfheal settings`: every SELFHEAL_* setting with its default."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from selfheal.settings import Settings, settings_table


def register(app: typer.Typer) -> None:
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
