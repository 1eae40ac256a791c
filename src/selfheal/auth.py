"""Roles and API keys. Keys are random tokens shown once; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum

from selfheal.records import Record


class Role(StrEnum):
    viewer = "viewer"  # read everything
    operator = "operator"  # + run cycles, ingest, upload documents
    approver = "approver"  # + approve, reject, execute actions
    admin = "admin"  # + manage keys, clear the knowledge store


ROLE_RANK = {Role.viewer: 0, Role.operator: 1, Role.approver: 2, Role.admin: 3}


def allows(have: Role, need: Role) -> bool:
    """Roles are ordered: each includes the rights of those below it."""
    return ROLE_RANK[have] >= ROLE_RANK[need]


class Principal(Record):
    """Who is calling."""

    name: str
    role: Role
    key_id: str | None = None


def same_holder(a_name: str, a_key: str | None, b_name: str, b_key: str | None) -> bool:
    """Whether two actors are one holder: the same API key id when both are known; else the same name
    (names identify one key for good, and the product's own actors and the configured admin key carry
    reserved names no key may take; actions and approvals stored before key ids were kept have a name only)."""
    if a_key is not None and b_key is not None:
        return a_key == b_key
    return a_name == b_name


def new_key() -> str:
    return "shk_" + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def same_key(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
