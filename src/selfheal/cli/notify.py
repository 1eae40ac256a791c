"""`selfheal notify`: send the queued notifications (Slack, PagerDuty) now, and list what failed."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from selfheal.cli.common import console
from selfheal.settings import Settings


def register(app: typer.Typer) -> None:
    @app.command()
    def notify(
        wait: Annotated[
            bool,
            typer.Option(
                "--wait/--no-wait",
                help="Keep going until nothing waits (sleeping until retries are due, within "
                "SELFHEAL_NOTIFY_MAX_AGE_MINUTES); default: one pass over what is due now",
            ),
        ] = False,
    ) -> None:
        """Deliver the notifications that are due (what `selfheal api` and `selfheal worker` do in the
        background when SELFHEAL_NOTIFY_ROUTES is set)."""
        from selfheal.notify.deliver import Deliverer, drain
        from selfheal.store import Store, notify_repo

        settings = Settings()
        store = Store.open(settings.resolved_database_url())
        try:
            deliverer = Deliverer(store, settings)
            report = drain(deliverer, time.sleep) if wait else deliverer.deliver_due()
            console.print(
                f"delivered {len(report.delivered)}, retrying later {len(report.retrying)}, "
                f"failed {len(report.failed)}"
            )
            with store.read() as conn:
                failed, total = notify_repo.list_notifications(conn, status="failed", limit=10)
            for row in failed:
                console.print(f"  [red]failed[/red] {row.id} {row.receiver} {row.event}: {row.last_error}")
            if total > len(failed):
                console.print(f"  ... {total - len(failed)} more (GET /notifications?status=failed)")
        finally:
            store.dispose()
