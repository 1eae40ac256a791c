"""API keys (hashed)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, select

from selfheal.errors import NotFound
from selfheal.store.tables import ApiKeyRow, table


def insert_key(conn: Connection, name: str, role: str, key_hash: str, now_ms: int) -> str:
    key_id = f"key-{uuid.uuid4().hex[:10]}"
    conn.execute(
        table(ApiKeyRow).insert(),
        [{"id": key_id, "name": name, "role": role, "key_hash": key_hash, "created_ms": now_ms}],
    )
    return key_id


def find_active(conn: Connection, key_hash: str) -> dict[str, Any] | None:
    t = table(ApiKeyRow)
    row = conn.execute(select(t).where(t.c.key_hash == key_hash, t.c.revoked_ms.is_(None))).first()
    return dict(row._mapping) if row else None


def list_keys(conn: Connection) -> list[dict[str, Any]]:
    t = table(ApiKeyRow)
    rows = conn.execute(
        select(t.c.id, t.c.name, t.c.role, t.c.created_ms, t.c.revoked_ms).order_by(t.c.created_ms)
    )
    return [dict(r._mapping) for r in rows]


def revoke(conn: Connection, key_id: str, now_ms: int) -> None:
    t = table(ApiKeyRow)
    result = conn.execute(
        t.update().where(t.c.id == key_id, t.c.revoked_ms.is_(None)).values(revoked_ms=now_ms)
    )
    if not result.rowcount:
        raise NotFound(f"no active key {key_id!r}", {"key_id": key_id})
