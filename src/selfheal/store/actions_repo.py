"""Actions and simulator effects. State changes are conditional UPDATEs (`update_if`): the WHERE clause
names the state the caller saw, so of many concurrent callers exactly one wins."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Select, func, select
from sqlalchemy.dialects import postgresql, sqlite

from selfheal.errors import NotFound
from selfheal.store.actions_tables import ActionRow, SimulatorEffectRow
from selfheal.store.rows import ActionRecord, SimulatorEffectRecord
from selfheal.store.tables import table

TERMINAL_FAILURES = ("rejected", "cancelled", "failed")


def new_action_id() -> str:
    return f"act-{uuid.uuid4().hex[:12]}"


def insert_action(conn: Connection, row: dict[str, Any]) -> str:
    row = dict(row)
    row.setdefault("id", new_action_id())
    conn.execute(table(ActionRow).insert(), [row])
    return str(row["id"])


def get_action(conn: Connection, action_id: str, for_update: bool = False) -> ActionRecord:
    """One action; `for_update` locks its row until the transaction ends (PostgreSQL; SQLite transactions
    are already serialised by BEGIN IMMEDIATE)."""
    t = table(ActionRow)
    q = select(t).where(t.c.id == action_id)
    if for_update:
        q = q.with_for_update()
    row = conn.execute(q).first()
    if row is None:
        raise NotFound(f"action {action_id!r} does not exist", {"action_id": action_id})
    return ActionRecord.model_validate(row._mapping)


def update_if(conn: Connection, action_id: str, expect: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    """Set `values` on the action only while every column in `expect` still holds its value.
    True when this call changed the row."""
    t = table(ActionRow)
    q = t.update().where(t.c.id == action_id)
    for column, value in expect.items():
        q = q.where(t.c[column].is_(None) if value is None else t.c[column] == value)
    return bool(conn.execute(q.values(**values)).rowcount)


def replace_if(
    conn: Connection, before: ActionRecord, after: ActionRecord, expect: Mapping[str, Any]
) -> bool:
    """Write the fields in which `after` differs from `before` (as `update_if`, under `expect`)."""
    names = {name for name in ActionRecord.model_fields if getattr(after, name) != getattr(before, name)}
    if not names:
        return update_if(conn, before.id, expect, {"updated_ms": after.updated_ms})
    return update_if(conn, before.id, expect, after.columns(names))


def list_actions(
    conn: Connection,
    *,
    status: str | None = None,
    incident_id: str | None = None,
    risk: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[ActionRecord]:
    t = table(ActionRow)
    q = _filtered(select(t), status, incident_id, risk)
    q = q.order_by(t.c.created_ms.desc(), t.c.id).limit(limit).offset(offset)
    return [ActionRecord.model_validate(r._mapping) for r in conn.execute(q)]


def count_actions(
    conn: Connection, *, status: str | None = None, incident_id: str | None = None, risk: str | None = None
) -> int:
    """How many actions `list_actions` pages through with these filters."""
    q = _filtered(select(func.count()).select_from(table(ActionRow)), status, incident_id, risk)
    return int(conn.execute(q).scalar_one())


def _filtered(q: Select[Any], status: str | None, incident_id: str | None, risk: str | None) -> Select[Any]:
    t = table(ActionRow)
    if status:
        q = q.where(t.c.status == status)
    if incident_id:
        q = q.where(t.c.incident_id == incident_id)
    if risk:
        q = q.where(t.c.risk == risk)
    return q


def live_keys(conn: Connection, incident_id: str) -> set[str]:
    """Catalogue keys of the incident's actions that are not rejected, cancelled or failed."""
    t = table(ActionRow)
    q = select(t.c.key).where(t.c.incident_id == incident_id, t.c.status.not_in(TERMINAL_FAILURES))
    return set(conn.execute(q).scalars())


def stale_executions(conn: Connection, now_ms: int) -> list[ActionRecord]:
    """Executions whose lease ran out: the process running them stopped before recording a result."""
    t = table(ActionRow)
    q = select(t).where(t.c.status == "executing", t.c.lease_until_ms < now_ms).order_by(t.c.lease_until_ms)
    return [ActionRecord.model_validate(r._mapping) for r in conn.execute(q)]


def unexecuted_auto(conn: Connection, approved_before_ms: int) -> list[ActionRecord]:
    """Actions the policy approved to run by themselves, still `approved` since before `approved_before_ms`:
    the process that stored them stopped between its commit and their execution."""
    t = table(ActionRow)
    q = (
        select(t)
        .where(t.c.status == "approved", t.c.auto_execute == 1, t.c.updated_ms < approved_before_ms)
        .order_by(t.c.updated_ms, t.c.id)
    )
    return [ActionRecord.model_validate(r._mapping) for r in conn.execute(q)]


def insert_effect(conn: Connection, row: dict[str, Any]) -> bool:
    """Record a simulated effect once per action (a resumed execution does not add a second one)."""
    t = table(SimulatorEffectRow)
    stmt = (postgresql.insert(t) if conn.dialect.name == "postgresql" else sqlite.insert(t)).values(**row)
    return bool(conn.execute(stmt.on_conflict_do_nothing(index_elements=["action_id"])).rowcount)


def pending_effects(conn: Connection, limit: int = 100) -> list[SimulatorEffectRecord]:
    """Effects the demo simulator has not applied yet, oldest first."""
    t = table(SimulatorEffectRow)
    q = select(t).where(t.c.consumed_ms.is_(None)).order_by(t.c.id).limit(limit)
    return [SimulatorEffectRecord.model_validate(r._mapping) for r in conn.execute(q)]


def list_effects(conn: Connection, action_id: str | None = None) -> list[SimulatorEffectRecord]:
    t = table(SimulatorEffectRow)
    q = select(t).order_by(t.c.id)
    if action_id:
        q = q.where(t.c.action_id == action_id)
    return [SimulatorEffectRecord.model_validate(r._mapping) for r in conn.execute(q)]
