"""The act stage's side of notifications: store each notice the decision carries as one outbox row per
receiver, inside the cycle's transaction, so a notification exists exactly when its incident change does.
A receiver gets each notice of an incident at most once (a repeated notice is not queued again)."""

from __future__ import annotations

from sqlalchemy import Connection

from selfheal.decide.plan_model import Notice
from selfheal.notify.render import render
from selfheal.records import dt_to_ms, utcnow
from selfheal.settings import Settings
from selfheal.store import notify_repo


def queue_notices(
    conn: Connection, notices: tuple[Notice, ...], opened_id: str | None, settings: Settings
) -> tuple[str, ...]:
    """Queue the notices for their receivers; `opened_id` is the incident this cycle opened (the id of
    notices with none). Returns the queued rows' ids."""
    now = dt_to_ms(utcnow())
    queued: list[str] = []
    for notice in notices:
        incident_id = notice.incident_id or opened_id
        if incident_id is None:
            continue
        for name in notice.receivers:
            route = settings.route(name)
            if route is None:
                continue
            row_id = notify_repo.new_id()
            stored = notify_repo.enqueue(
                conn,
                {
                    "id": row_id,
                    "receiver": route.name,
                    "kind": route.kind,
                    "event": notice.event.value,
                    "incident_id": incident_id,
                    "notice_key": notice.key,
                    "payload": render(route.kind, notice, incident_id, settings.notify_ui_url),
                    "created_ms": now,
                    "updated_ms": now,
                    "next_attempt_ms": now,
                },
            )
            if stored:
                queued.append(row_id)
    return tuple(queued)
