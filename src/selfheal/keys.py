"""API key management (shared by the API and the CLI). A key is shown once, at creation; only its
SHA-256 is stored. Creating and revoking keys is audited (never with the key itself)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from selfheal import audit
from selfheal.auth import Role, hash_key, new_key
from selfheal.errors import InvalidInput
from selfheal.records import Record, dt_to_ms, ms_to_dt, utcnow
from selfheal.store import Store, keys_repo
from selfheal.store.rows import ApiKeyRecord


class KeyInfo(Record):
    id: str
    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None = None


class NewKey(KeyInfo):
    key: str = Field(description="The secret; shown only in this answer")


def _info(row: ApiKeyRecord) -> KeyInfo:
    return KeyInfo(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        created_at=ms_to_dt(row.created_ms),
        revoked_at=None if row.revoked_ms is None else ms_to_dt(row.revoked_ms),
    )


def create_key(store: Store, name: str, role: Role, actor: str) -> NewKey:
    name = name.strip()
    if not name or len(name) > 256:
        raise InvalidInput("a key needs a name of 1 to 256 characters", {"field": "name"})
    secret = new_key()
    now = dt_to_ms(utcnow())
    with store.transaction() as conn:
        key_id = keys_repo.insert_key(conn, name, role.value, hash_key(secret), now)
        audit.record(
            conn,
            actor=actor,
            action="key.create",
            target_type="key",
            target_id=key_id,
            after={"name": name, "role": role.value},
        )
    return NewKey(id=key_id, name=name, role=role, created_at=ms_to_dt(now), key=secret)


def list_keys(store: Store) -> list[KeyInfo]:
    with store.read() as conn:
        return [_info(r) for r in keys_repo.list_keys(conn)]


def revoke_key(store: Store, key_id: str, actor: str) -> KeyInfo:
    now = dt_to_ms(utcnow())
    with store.transaction() as conn:
        keys_repo.revoke(conn, key_id, now)
        row = keys_repo.get_key(conn, key_id)
        audit.record(
            conn,
            actor=actor,
            action="key.revoke",
            target_type="key",
            target_id=key_id,
            before={"name": row.name, "role": row.role, "revoked": False},
            after={"name": row.name, "role": row.role, "revoked": True},
        )
    return _info(row)
