"""Database locks that serialise work across processes and hosts.

PostgreSQL: advisory locks, keyed by the lock's name within the current schema (one installation per schema),
so two installations sharing a server never wait on each other. A transaction lock is released when its
transaction ends; a session lock (the scheduler's leadership) when it is released or its connection closes,
which includes the process dying. SQLite: a write transaction (`BEGIN IMMEDIATE`) already excludes every
other writer, so `lock_in_transaction` has nothing to add; leadership is not offered (one process).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

CYCLE_PLAN = "selfheal:cycle-plan"
"""Held while a cycle re-reads the open incidents, plans and writes incidents and actions."""
SCHEDULER_LEADER = "selfheal:scheduler-leader"
"""Held (session lock) by the one scheduler that runs cycles."""

_KEY = "hashtext(current_schema() || ':' || :name)"


def lock_in_transaction(conn: Connection, name: str) -> None:
    """Wait for the lock `name` and hold it until the caller's transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"SELECT pg_advisory_xact_lock({_KEY})"), {"name": name})


def try_session_lock(conn: Connection, name: str) -> bool:
    """Take the session lock `name` if free (PostgreSQL only); True when this connection now holds it."""
    row = conn.execute(text(f"SELECT pg_try_advisory_lock({_KEY})"), {"name": name}).scalar()
    return bool(row)


def release_session_lock(conn: Connection, name: str) -> None:
    conn.execute(text(f"SELECT pg_advisory_unlock({_KEY})"), {"name": name})
