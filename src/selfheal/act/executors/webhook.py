"""POSTs the action as JSON to a configured URL.

- Signed with the Standard Webhooks scheme (`executors.signing`): `webhook-id: <action id>` (the same on
  every retry and on a resumed execution), `webhook-timestamp` (unix seconds, fresh on every call) and
  `webhook-signature: v1,<base64 HMAC-SHA256>`; receivers verify with any Standard Webhooks library or
  `verify_signature`, which also rejects timestamps outside a tolerance (replays).
- `Idempotency-Key: <action id>`: the same on every retry and on a resumed execution.
- A timeout per call, retries with exponential backoff on connection errors, timeouts, 429 and 5xx;
  other 4xx answers fail at once.
- A host allow-list, checked before anything is claimed or sent; redirects are not followed (a redirect
  could lead to a host outside the list).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import orjson

from selfheal.act.executors.base import ExecutionRequest, ExecutionResult, Executor
from selfheal.act.executors.signing import secret_key, sign, signed_headers, verify_signature
from selfheal.errors import Conflict
from selfheal.records import utcnow

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def host_allowed(url: str, allowed: Sequence[str]) -> bool:
    """Is the URL http(s) and its host in the allow-list? `*.example.com` matches subdomains only."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return False
    host = (parsed.host or "").lower().rstrip(".")
    if parsed.scheme not in ("http", "https") or not host:
        return False
    for pattern in allowed:
        p = pattern.strip().lower().rstrip(".")
        if p.startswith("*."):
            if host.endswith(p[1:]) and host != p[2:]:
                return True
        elif host == p:
            return True
    return False


__all__ = ["WebhookExecutor", "host_allowed", "sign", "signed_headers", "verify_signature"]


class WebhookExecutor(Executor):
    name = "webhook"

    def __init__(
        self,
        url: str | None,
        secret: str | None,
        allowed_hosts: Sequence[str],
        timeout_seconds: float = 10.0,
        retries: int = 3,
        backoff_seconds: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.secret = secret
        self.allowed_hosts = tuple(allowed_hosts)
        self.timeout_seconds = timeout_seconds
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self._transport = transport
        self._sleep = sleep
        self._clock = clock

    def preflight(self) -> None:
        if not self.url:
            raise Conflict(
                "the webhook executor has no URL (set SELFHEAL_ACT_WEBHOOK_URL)",
                {"setting": "act_webhook_url"},
            )
        if not self.secret:
            raise Conflict(
                "the webhook executor refuses to send unsigned calls (set SELFHEAL_ACT_WEBHOOK_SECRET)",
                {"setting": "act_webhook_secret"},
            )
        try:
            secret_key(self.secret)
        except ValueError as exc:
            raise Conflict(
                f"the webhook secret is not usable: {exc}", {"setting": "act_webhook_secret"}
            ) from exc
        if not host_allowed(self.url, self.allowed_hosts):
            host = httpx.URL(self.url).host if self.url.startswith(("http://", "https://")) else self.url
            raise Conflict(
                f"webhook host {host!r} is not in the allow-list (SELFHEAL_ACT_WEBHOOK_ALLOWED_HOSTS)",
                {"host": host, "allowed_hosts": list(self.allowed_hosts)},
            )

    def payload(self, request: ExecutionRequest) -> bytes:
        body: dict[str, Any] = {
            "action_id": request.action_id,
            "attempt": request.attempt,
            "key": request.key,
            "title": request.title,
            "risk": request.risk,
            "params": request.params,
            "incident_id": request.incident_id,
            "category": request.category,
            "stages": list(request.stages),
            "merchants": list(request.merchants),
            "requested_by": request.requested_by,
            "executed_by": request.executed_by,
            "sent_at": utcnow().isoformat(),
        }
        return orjson.dumps(body)

    def execute(self, request: ExecutionRequest) -> ExecutionResult:
        self.preflight()
        url, secret = str(self.url), str(self.secret)
        body = self.payload(request)
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": request.action_id,
            "User-Agent": "selfheal-act",
        }
        calls: list[dict[str, Any]] = []
        with httpx.Client(
            timeout=self.timeout_seconds, follow_redirects=False, transport=self._transport
        ) as client:
            for attempt in range(self.retries + 1):
                if attempt:
                    self._sleep(self.backoff_seconds * 2 ** (attempt - 1))
                started = time.perf_counter()
                signed = signed_headers([secret], request.action_id, int(self._clock()), body)
                try:
                    response = client.post(url, content=body, headers={**headers, **signed})
                except httpx.TransportError as exc:
                    calls.append(_call(attempt, started, error=f"{type(exc).__name__}: {exc}"))
                    continue
                calls.append(_call(attempt, started, status=response.status_code))
                if response.is_success:
                    return ExecutionResult(
                        ok=True,
                        executor=self.name,
                        summary=f"POST {url} answered {response.status_code}",
                        detail={"url": url, "calls": calls, "response": response.text[:2000]},
                    )
                if response.status_code not in RETRY_STATUSES:
                    break
        last = calls[-1]
        reason = f"HTTP {last['status']}" if "status" in last else last["error"]
        return ExecutionResult(
            ok=False,
            executor=self.name,
            summary=f"POST {self.url} failed after {len(calls)} call(s): {reason}",
            detail={"url": self.url, "calls": calls},
            error=reason,
        )


def _call(
    attempt: int, started: float, status: int | None = None, error: str | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"call": attempt + 1, "ms": round((time.perf_counter() - started) * 1000, 1)}
    if status is not None:
        entry["status"] = status
    if error is not None:
        entry["error"] = error
    return entry
