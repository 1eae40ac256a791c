"""The `selfheal` command line (Typer): the app and its command groups, one module each.

Each command builds Settings at the edge and calls the core."""

from __future__ import annotations

import typer

from selfheal.cli import (
    admin,
    bench,
    cluster,
    cycle,
    detect,
    imports,
    ingest,
    llm,
    merchants,
    runbooks,
    serve,
    settings_table,
    simulate,
    worker,
)

app = typer.Typer(
    help="selfheal: observe -> reason -> decide -> act over commerce-platform signals.",
    no_args_is_help=True,
    add_completion=False,
)
bench_app = typer.Typer(help="Benchmarks (figures go to docs/benchmarks.md).", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
for group in (
    serve,
    ingest,
    simulate,
    cycle,
    settings_table,
    llm,
    admin,
    cluster,
    detect,
    runbooks,
    worker,
    merchants,
    imports,
):
    group.register(app)
bench.register(bench_app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
