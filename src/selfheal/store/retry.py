"""Retrying a transaction that lost a race: deadlocks, serialization failures, lock timeouts, and (for
idempotent batches) a concurrent insert of the same key. The whole transaction is re-run, so all-or-nothing
holds: a failed attempt stored nothing."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError

T = TypeVar("T")

TRANSIENT_SQLSTATES = frozenset({"40P01", "40001", "55P03"})
"""deadlock_detected, serialization_failure, lock_not_available."""


def is_transient(exc: BaseException) -> bool:
    """Whether re-running the transaction may succeed: a deadlock or serialization failure (PostgreSQL), a
    busy database (SQLite), or a unique key a concurrent transaction inserted first."""
    if isinstance(exc, IntegrityError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in TRANSIENT_SQLSTATES:
        return True
    return "database is locked" in str(exc.orig)


def run_with_retry(
    work: Callable[[], T], attempts: int = 6, backoff_seconds: float = 0.02, cap_seconds: float = 1.0
) -> T:
    """Run `work` (one whole transaction); re-run it after a transient error with jittered exponential
    backoff, up to `attempts` runs; any other error, or the last transient one, is raised."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except DBAPIError as exc:
            if attempt == attempts or not is_transient(exc):
                raise
            delay = min(cap_seconds, backoff_seconds * 2 ** (attempt - 1))
            time.sleep(delay * (0.5 + random.random()))
    raise AssertionError("unreachable")
