"""The delivery worker: send due outbox rows, one claim at a time, and record what happened.

- A row is claimed (status `sending`, under a lease longer than one call can take) in a short transaction
  of its own, sent outside any transaction, and its outcome written by the claim's holder only: two workers
  never send the same row (PostgreSQL `FOR UPDATE SKIP LOCKED`; SQLite serialises writers).
- One call per claim, bounded by `notify_timeout_seconds` (connect, read, write and pool each).
- 2xx: `delivered`. Connection errors, timeouts, 408, 425, 429 and 5xx: retried at
  `now + delay`, the delay being the answer's `Retry-After` (seconds or an HTTP date) when it has one,
  else exponential backoff with full jitter (`random() * min(5 min, backoff * 2^(attempt-1))`). Other 4xx
  (a bad URL or key) and a receiver no longer configured fail at once.
- Given up (`failed`) after `notify_max_attempts` calls or when the next call would come later than
  `notify_max_age_minutes` after the row was queued.
- Every failed call and every final outcome goes into the audit trail (actor `notifier`).

The clock and the random source are injected, so tests step time instead of sleeping.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from selfheal import audit
from selfheal.settings import Settings, secret_value
from selfheal.store import Store, notify_repo
from selfheal.store.notify_repo import NotificationRecord

log = logging.getLogger("selfheal.notify")

ACTOR = "notifier"
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
BACKOFF_CAP_SECONDS = 300.0


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """A `Retry-After` header as seconds from `now`: delta-seconds or an HTTP date; None if absent or
    unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, float(when.timestamp()) - now)


def backoff_seconds(attempt: int, base: float, draw: float, cap: float = BACKOFF_CAP_SECONDS) -> float:
    """Full-jitter exponential backoff after call number `attempt` (1-based); `draw` is uniform in [0, 1)."""
    ceiling: float = min(cap, base * 2.0 ** max(0, attempt - 1))
    return draw * ceiling


@dataclass(frozen=True)
class CallResult:
    ok: bool
    status: int | None = None
    error: str | None = None
    retryable: bool = False
    retry_after: float | None = None


@dataclass
class DeliveryReport:
    delivered: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def claimed(self) -> int:
        return len(self.delivered) + len(self.retrying) + len(self.failed)


class Deliverer:
    """Sends due notifications of one store with the settings' routes."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        draw: Callable[[], float] = random.random,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.draw = draw
        self._transport = transport
        timeout = settings.notify_timeout_seconds
        self.lease_ms = int((4 * timeout + 30) * 1000)
        """Longer than one call can take (each of connect, write, read and pool is bounded by the timeout)."""

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def deliver_due(self, limit: int = 100) -> DeliveryReport:
        """Claim and send due rows one at a time until none is due or `limit` were sent."""
        report = DeliveryReport()
        with httpx.Client(
            timeout=self.settings.notify_timeout_seconds, follow_redirects=False, transport=self._transport
        ) as client:
            while report.claimed < limit:
                token = uuid.uuid4().hex
                with self.store.transaction() as conn:
                    claimed = notify_repo.claim_due(conn, self.now_ms(), token, self.lease_ms, 1)
                if not claimed:
                    break
                row = claimed[0]
                result = self._call(client, row)
                self._finish(row, token, result, report)
        return report

    def next_due_seconds(self) -> float | None:
        """Seconds until a row is due (0 when one is due now); None when nothing waits."""
        with self.store.read() as conn:
            due = notify_repo.next_due_ms(conn)
        return None if due is None else max(0.0, (due - self.now_ms()) / 1000)

    # --- one call -------------------------------------------------------------------------------
    def _request(self, row: NotificationRecord) -> tuple[str, dict[str, Any]] | str:
        """(url, JSON body) for the row's receiver, or why it cannot be sent."""
        route = self.settings.route(row.receiver)
        if route is None or route.kind != row.kind:
            return f"receiver {row.receiver!r} is no longer configured (SELFHEAL_NOTIFY_ROUTES)"
        if route.kind == "pagerduty":
            url = secret_value(route.url) or self.settings.notify_pagerduty_url
            return url, {"routing_key": secret_value(route.routing_key), **row.payload}
        return str(secret_value(route.url)), row.payload

    def _call(self, client: httpx.Client, row: NotificationRecord) -> CallResult:
        request = self._request(row)
        if isinstance(request, str):
            return CallResult(ok=False, error=request)
        url, body = request
        try:
            response = client.post(url, json=body, headers={"User-Agent": "selfheal-notify"})
        except httpx.HTTPError as exc:
            return CallResult(ok=False, error=f"{type(exc).__name__}: {exc}"[:500], retryable=True)
        if response.is_success:
            return CallResult(ok=True, status=response.status_code)
        return CallResult(
            ok=False,
            status=response.status_code,
            error=f"HTTP {response.status_code}: {response.text[:300]}",
            retryable=response.status_code in RETRY_STATUSES,
            retry_after=retry_after_seconds(response.headers.get("Retry-After"), self.clock()),
        )

    # --- its outcome ----------------------------------------------------------------------------
    def _finish(
        self, row: NotificationRecord, token: str, result: CallResult, report: DeliveryReport
    ) -> None:
        now = self.now_ms()
        base: dict[str, Any] = {"updated_ms": now, "last_status": result.status}
        if result.ok:
            values = {**base, "status": "delivered", "delivered_ms": now, "last_error": None}
            outcome, bucket = "notification.delivered", report.delivered
        else:
            next_ms = self._next_attempt_ms(row, result, now)
            if next_ms is None:
                values = {**base, "status": "failed", "last_error": result.error}
                outcome, bucket = "notification.failed", report.failed
            else:
                values = {**base, "status": "pending", "next_attempt_ms": next_ms, "last_error": result.error}
                outcome, bucket = "notification.attempt_failed", report.retrying
        with self.store.transaction() as conn:
            if not notify_repo.finish(conn, row.id, token, values):
                log.warning("notification %s: the claim expired before the outcome was written", row.id)
                return
            after: dict[str, Any] = {
                "receiver": row.receiver,
                "kind": row.kind,
                "event": row.event,
                "incident_id": row.incident_id,
                "attempt": row.attempts,
                "status": values["status"],
                "http_status": result.status,
            }
            if result.error:
                after["error"] = result.error
            if values["status"] == "pending":
                after["next_attempt_ms"] = values["next_attempt_ms"]
            audit.record(
                conn, actor=ACTOR, action=outcome, target_type="notification", target_id=row.id, after=after
            )
        bucket.append(row.id)

    def _next_attempt_ms(self, row: NotificationRecord, result: CallResult, now: int) -> int | None:
        """When to call again, or None to give up."""
        if not result.retryable or row.attempts >= self.settings.notify_max_attempts:
            return None
        if result.retry_after is not None:
            delay = result.retry_after
        else:
            delay = backoff_seconds(row.attempts, self.settings.notify_backoff_seconds, self.draw())
        next_ms = now + int(delay * 1000)
        deadline = int(row.created_at.timestamp() * 1000) + self.settings.notify_max_age_minutes * 60_000
        return None if next_ms > deadline else next_ms


def drain(deliverer: Deliverer, sleep: Callable[[float], None], max_rounds: int = 1000) -> DeliveryReport:
    """Deliver until nothing waits: each round sends what is due, then sleeps until the next row is due.
    With an injected clock and sleeper, tests step through retries without waiting."""
    total = DeliveryReport()
    for _ in range(max_rounds):
        report = deliverer.deliver_due()
        total.delivered += report.delivered
        total.retrying += report.retrying
        total.failed += report.failed
        wait = deliverer.next_due_seconds()
        if wait is None:
            break
        if wait > 0:
            sleep(wait)
    return total
