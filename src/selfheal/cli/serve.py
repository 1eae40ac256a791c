"""`selfheal api`, `selfheal ui` and `selfheal demo`: the long-running processes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from selfheal.cli.common import console
from selfheal.settings import Settings


def ui_command(settings: Settings, port: int | None = None) -> list[str]:
    """The `streamlit run` command line of the UI. Its uploader's per-file limit is the server's
    (SELFHEAL_KB_MAX_FILE_BYTES, in whole MB; Streamlit's own default is 200 MB)."""
    script = Path(__file__).parent.parent / "ui" / "app.py"
    return [
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
        "--server.maxUploadSize",
        str(max(1, settings.kb_max_file_bytes // (1024 * 1024))),
    ]


def register(app: typer.Typer) -> None:
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

        raise typer.Exit(subprocess.call(ui_command(Settings(), port)))

    @app.command()
    def demo(
        speed: Annotated[float | None, typer.Option(help="Catch-up speed (simulated s per real s)")] = None,
        no_ui: Annotated[bool, typer.Option("--no-ui", help="Do not start the UI")] = False,
    ) -> None:
        """Start the API and UI on the embedded database, with a live simulated migration feeding signals."""
        from selfheal.cli.demo import run_demo

        run_demo(Settings(), speed=speed, with_ui=not no_ui, console=console)
