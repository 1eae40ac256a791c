"""`selfheal worker`: run scheduled cycles without serving HTTP (one of many on PostgreSQL; one leads)."""

from __future__ import annotations

import signal
from typing import Annotated, Any

import typer

from selfheal.cli.common import console
from selfheal.settings import Settings


def register(app: typer.Typer) -> None:
    @app.command()
    def worker(
        every: Annotated[
            int | None, typer.Option(help="Seconds between cycles (SELFHEAL_CYCLE_EVERY; default 300 here)")
        ] = None,
        json_logs: Annotated[bool, typer.Option("--json-logs", help="One JSON object per log line")] = False,
    ) -> None:
        """Run an agent cycle every period, as the leader of all workers and APIs on this database (PostgreSQL:
        one leads, the others wait to take over; SQLite: run one scheduler per database)."""
        from selfheal.cycle import CycleDeps
        from selfheal.notify.worker import Notifier
        from selfheal.schedule.logs import configure_logging
        from selfheal.schedule.scheduler import Scheduler
        from selfheal.store import Store

        settings = Settings()
        configure_logging(json_logs or settings.log_json)
        period = every or settings.cycle_every or 300
        settings = settings.model_copy(update={"cycle_every": period})
        store = Store.open(settings.resolved_database_url())
        notifier = Notifier(store, settings) if settings.notify_routes else None
        scheduler = Scheduler(CycleDeps(store=store, settings=settings, notifier=notifier))

        def stop(_signum: int, _frame: Any) -> None:
            scheduler.stop(timeout=0)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        console.print(f"selfheal worker: a cycle every {period} s on {store.dialect}")
        if notifier is not None:
            notifier.start()
        try:
            scheduler.run()
        finally:
            if notifier is not None:
                notifier.stop()
            store.dispose()
