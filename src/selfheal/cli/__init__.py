"""The `selfheal` command line: one module per command group; `main` assembles them."""

from selfheal.cli.main import app, main

__all__ = ["app", "main"]
