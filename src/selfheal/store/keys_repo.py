"""API keys (hashed)."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from selfheal.errors import Conflict, NotFound
from selfheal.store.rows import ApiKeyRecord
from selfheal.store.tables import ApiKeyRow, table

_LISTED = ("id", "name", "role", "created_ms", "revoked_ms")


def insert_key(conn: Connection, name: str, role: str, key_hash: str, now_ms: int) -> str:
    """Insert a key; Conflict when a key of that name exists (the unique index decides, so two concurrent
    creations of one name cannot both succeed)."""
    key_id = f"key-{uuid.uuid4().hex[:10]}"
    try:
        conn.execute(
            table(ApiKeyRow).insert(),
            [{"id": key_id, "name": name, "role": role, "key_hash": key_hash, "created_ms": now_ms}],
        )
    except IntegrityError as exc:
        raise Conflict(
            f"a key named {name!r} exists (or existed); names identify one holder", {"field": "name"}
        ) from exc
    return key_id


def find_active(conn: Connection, key_hash: str) -> ApiKeyRecord | None:
    """The unrevoked key whose secret hashes to `key_hash`."""
    t = table(ApiKeyRow)
    q = select(*(t.c[c] for c in _LISTED)).where(t.c.key_hash == key_hash, t.c.revoked_ms.is_(None))
    row = conn.execute(q).first()
    return ApiKeyRecord.model_validate(row._mapping) if row else None


def get_key(conn: Connection, key_id: str) -> ApiKeyRecord:
    t = table(ApiKeyRow)
    row = conn.execute(select(*(t.c[c] for c in _LISTED)).where(t.c.id == key_id)).first()
    if row is None:
        raise NotFound(f"no key {key_id!r}", {"key_id": key_id})
    return ApiKeyRecord.model_validate(row._mapping)


def list_keys(conn: Connection) -> list[ApiKeyRecord]:
    t = table(ApiKeyRow)
    rows = conn.execute(select(*(t.c[c] for c in _LISTED)).order_by(t.c.created_ms))
    return [ApiKeyRecord.model_validate(r._mapping) for r in rows]


def revoke(conn: Connection, key_id: str, now_ms: int) -> None:
    t = table(ApiKeyRow)
    result = conn.execute(
        t.update().where(t.c.id == key_id, t.c.revoked_ms.is_(None)).values(revoked_ms=now_ms)
    )
    if not result.rowcount:
        raise NotFound(f"no active key {key_id!r}", {"key_id": key_id})


def name_taken(conn: Connection, name: str) -> bool:
    """Whether any key, active or revoked, has this name (case-insensitive): a name is a key's for good."""
    tbl = table(ApiKeyRow)
    found = conn.execute(select(tbl.c.id).where(func.lower(tbl.c.name) == name.lower()).limit(1)).first()
    return found is not None
