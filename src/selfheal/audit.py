"""Hash-chained audit log. Each record's hash covers its content and the previous record's hash, so an
edited, inserted or deleted record breaks the chain and `verify` finds where. A head anchor (the newest
seq and hash, updated with every append) makes the deletion of the newest records visible too.

What this does not stop: someone with write access to the database who rewrites every hash from the
point of change and the anchor as well. Export `GET /audit/verify`'s head hash elsewhere to pin it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection

from selfheal.records import dt_to_ms, utcnow
from selfheal.store import audit_repo
from selfheal.store.rows import AuditEntry

GENESIS = "0" * 64


_HASHED = ("seq", "ts_ms", "actor", "action", "target_type", "target_id", "before", "after")
"""The fields a record's hash covers (with the previous record's hash)."""


def _digest(content: dict[str, Any], prev_hash: str) -> str:
    payload = orjson.dumps(content, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    return hashlib.sha256(prev_hash.encode() + payload).hexdigest()


def entry_hash(entry: AuditEntry) -> str:
    """The hash `entry` must carry: its hashed fields chained to its `prev_hash`."""
    return _digest({k: getattr(entry, k) for k in _HASHED}, entry.prev_hash)


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    result: dict[str, Any] = orjson.loads(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str))
    return result


def record(
    conn: Connection,
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> int:
    """Append one record inside the caller's transaction; returns its sequence number."""
    last = audit_repo.lock_and_last(conn)
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    content: dict[str, Any] = {
        "seq": seq,
        "ts_ms": dt_to_ms(utcnow()),
        "actor": actor,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "before": _jsonable(before),
        "after": _jsonable(after),
    }
    digest = _digest(content, prev)
    audit_repo.insert(conn, {**content, "prev_hash": prev, "hash": digest})
    audit_repo.set_head(conn, seq, digest)
    return seq


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    records: int
    first_bad_seq: int | None = None
    reason: str | None = None
    head_seq: int | None = None
    head_hash: str | None = None


def verify(conn: Connection) -> VerifyResult:
    """Walk the chain from the start; report the first record whose link or hash does not hold, then
    check that the chain ends where the head anchor says it does."""
    prev = GENESIS
    expected_seq = 1
    n = 0
    head = audit_repo.get_head(conn)
    head_seq, head_hash = head if head else (None, None)

    def broken(seq: int | None, reason: str) -> VerifyResult:
        return VerifyResult(False, n, seq, reason, head_seq, head_hash)

    for entry in audit_repo.iter_all(conn):
        n += 1
        if entry.seq != expected_seq:
            return broken(expected_seq, f"record {expected_seq} is missing")
        if entry.prev_hash != prev:
            return broken(entry.seq, "link to the previous record is broken")
        if entry_hash(entry) != entry.hash:
            return broken(entry.seq, "content does not match its hash (edited)")
        prev = entry.hash
        expected_seq += 1
    problem = _head_problem(expected_seq - 1, prev, head, n)
    if problem is not None:
        return broken(*problem)
    return VerifyResult(True, n, None, None, head_seq, head_hash) if head else VerifyResult(True, 0)


def _head_problem(
    last_seq: int, last_hash: str, head: tuple[int, str] | None, n: int
) -> tuple[int, str] | None:
    """Where and why the walked chain's end disagrees with the head anchor, or None when it agrees."""
    if head is None:
        return (last_seq, "the head anchor is missing") if n else None
    if last_seq < head[0]:
        return last_seq + 1, f"records {last_seq + 1}..{head[0]} are missing (deleted at the end)"
    if last_seq > head[0]:
        return head[0] + 1, f"records after {head[0]} were added outside the audit log writer"
    if last_hash != head[1]:
        return last_seq, "the newest record does not match the head anchor (rewritten)"
    return None
