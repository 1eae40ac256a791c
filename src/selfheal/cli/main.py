"""The `selfheal` command line (Typer): the app and its command groups, one module each.

Each command builds Settings at the edge and calls the core or the API. Command modules import only what
their options need at startup; the heavy stacks (the database, numpy/scipy/pandas, the embedding model, the
UI) load inside the command that uses them, so `selfheal --help` answers at once.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

import typer

from selfheal.cli import (
    admin,
    bench,
    cluster,
    connectors,
    cycle,
    detect,
    imports,
    ingest,
    llm,
    merchants,
    notify,
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
    pretty_exceptions_enable=False,
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
    notify,
    connectors,
    merchants,
    imports,
):
    group.register(app)
bench.register(bench_app)

INTERRUPTED_EXIT = 130
"""The shell's code for a process ended by SIGINT (128 + 2)."""


class Interrupted(BaseException):
    """Ctrl-C: unwinds the command (its `finally` blocks stop child processes) past Click's own handling."""


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C does not interrupt the clean-up
    raise Interrupted


def main() -> None:
    """The `selfheal` entry point: Ctrl-C ends any command with one line and exit code 130."""
    signal.signal(signal.SIGINT, _interrupt)
    try:
        app()
    except Interrupted:
        sys.stderr.write("interrupted\n")
        sys.exit(INTERRUPTED_EXIT)


if __name__ == "__main__":
    main()
