"""API key management (shared by the API and the CLI). A key is shown once, at creation; only its
SHA-256 is stored. Creating and revoking keys is audited (never with the key itself)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from selfheal import audit
from selfheal.auth import Role, hash_key, new_key
from selfheal.errors import Conflict, InvalidInput
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


RESERVED_NAMES = frozenset(
    {"admin", "demo", "system", "policy", "cycle", "cli", "bench", "simulator", "scheduler", "anonymous"}
)
"""Names the product itself acts under in the audit trail and in approvals; no key may take one."""


def create_key(store: Store, name: str, role: Role, actor: str) -> NewKey:
    """A new key. Its name identifies one holder for good: unique among all keys (revoked ones too,
    case-insensitive) and never a name the product acts under, so an approval, a request and an audit record
    naming it point at exactly this key (four-eyes compares these names)."""
    name = name.strip()
    if not name or len(name) > 256 or "\x00" in name:
        raise InvalidInput("a key needs a name of 1 to 256 characters", {"field": "name"})
    if name.lower() in RESERVED_NAMES:
        raise InvalidInput(
            f"the name {name!r} is reserved for the product's own actions",
            {"field": "name", "reserved": sorted(RESERVED_NAMES)},
        )
    secret = new_key()
    now = dt_to_ms(utcnow())
    with store.transaction() as conn:
        if keys_repo.name_taken(conn, name):
            raise Conflict(
                f"a key named {name!r} exists (or existed); names identify one holder", {"field": "name"}
            )
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
