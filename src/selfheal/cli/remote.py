"""What the commands that call the API share: `--api` / `--api-key` options, the client, error reports.

Commands that read or change what the API serves (cycle, keys, actions, audit, runbooks) go through the API,
so they work against a remote server and under the caller's role. Only migrations and bootstrap open a
database directly (e.g. `selfheal keys create --database URL` for the first admin key).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from selfheal.cli.common import console
from selfheal.errors import SelfhealError

if TYPE_CHECKING:
    from selfheal.client import SelfhealClient

ApiOption = Annotated[
    str | None, typer.Option("--api", "--api-url", help="API base URL (default: SELFHEAL_API_URL)")
]
ApiKeyOption = Annotated[str | None, typer.Option("--api-key", help="API key (default: SELFHEAL_API_KEY)")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (one object per line for listings)")]

CLI_HINTS = {
    401: "Pass a valid key with --api-key or set SELFHEAL_API_KEY; an admin creates one with "
    "`selfheal keys create --role operator --name you` (the first admin key: add `--database URL`).",
    403: "Your key's role does not allow this; ask an admin for a key with a higher role.",
}
"""How to fix an API refusal from the command line (the client's own hints speak to the UI)."""


def report(exc: SelfhealError) -> None:
    """The error's message, how to fix it, and its details, on stderr."""
    console.print(f"[red]error: {exc.message}[/red]", highlight=False, soft_wrap=True)
    hint = CLI_HINTS.get(getattr(exc, "status", None) or 0) or getattr(exc, "hint", "")
    if hint:
        console.print(f"How to fix it: {hint}", highlight=False, soft_wrap=True)
    if exc.details and not isinstance(exc.details, list):
        console.print_json(data=exc.details)


@contextmanager
def api_client(api: str | None, api_key: str | None, timeout: float = 300) -> Iterator[SelfhealClient]:
    """A client of `api` (or SELFHEAL_API_URL) with `api_key` (or SELFHEAL_API_KEY). Any product error in the
    block (the API refused, cannot be reached) is reported and ends the command with exit code 1."""
    from selfheal.client import SelfhealClient
    from selfheal.settings import Settings

    try:
        with SelfhealClient.from_settings(
            Settings(), base_url=api, api_key=api_key, timeout=timeout
        ) as client:
            yield client
    except SelfhealError as exc:
        report(exc)
        raise typer.Exit(1) from None


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, default=str))


def print_lines(items: list[dict[str, Any]]) -> None:
    """A listing as JSON lines (one object per line)."""
    for item in items:
        print_json(item)


def redact(url: str) -> str:
    """A database URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]
