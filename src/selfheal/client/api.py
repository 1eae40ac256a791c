"""`SelfhealClient`: the one HTTP client of the selfheal API (UI, `selfheal ingest`, `simulate --post`, the demo
and the ingest benchmark use it).

One method per endpoint a caller needs, with the endpoint's parameters as typed arguments; answers are the
API's JSON (`JsonObject`), except ingest, which sums into `IngestCounts`. Every failure is an `ApiError`
(see `selfheal.client.errors`). Tests and tools inject their own `httpx.Client`, e.g. one with
`httpx.MockTransport`; the client then only adds the base URL and the API key to each request.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Self
from urllib.parse import quote

import httpx

from selfheal.client.errors import (
    NOT_READY_HINT,
    ApiError,
    Unreachable,
    error_from_response,
    error_from_transport,
)
from selfheal.settings import Settings, secret_value

JsonObject = dict[str, Any]
SignalKind = Literal["tickets", "logs", "metrics"]
SIGNAL_KINDS: tuple[SignalKind, ...] = ("tickets", "logs", "metrics")
ActionMove = Literal["approve", "reject", "cancel", "execute"]
"""The transitions a person makes on an action; each is `POST /actions/{id}/{move}`."""

NDJSON = "application/x-ndjson"


@dataclass(frozen=True)
class IngestCounts:
    """What the API did with posted signals: items received, newly stored, already stored (same id)."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    unknown_merchants: tuple[str, ...] = ()
    """Merchants the loaded directory does not list (the signals are stored all the same)."""

    def __add__(self, other: IngestCounts) -> IngestCounts:
        return IngestCounts(
            self.received + other.received,
            self.stored + other.stored,
            self.duplicates + other.duplicates,
            tuple(sorted({*self.unknown_merchants, *other.unknown_merchants})),
        )


def signal_kind(value: str) -> SignalKind:
    """`value` as a `SignalKind`, or ValueError."""
    for kind in SIGNAL_KINDS:
        if value == kind:
            return kind
    raise ValueError(f"kind must be {', '.join(SIGNAL_KINDS[:-1])} or {SIGNAL_KINDS[-1]}, not {value!r}")


class SelfhealClient:
    """A synchronous client of one selfheal API; safe to share between threads (httpx.Client is)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 120,
        http: httpx.Client | None = None,
    ) -> None:
        """`http`: an `httpx.Client` to send through (its own timeout applies; its owner closes it);
        default: one of our own with `timeout` seconds per request."""
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key or None
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout)

    @classmethod
    def from_settings(
        cls, settings: Settings, base_url: str | None = None, api_key: str | None = None, **kwargs: Any
    ) -> Self:
        """A client of SELFHEAL_API_URL with SELFHEAL_API_KEY, unless `base_url` / `api_key` are given."""
        return cls(
            base_url or settings.api_url,
            api_key if api_key is not None else secret_value(settings.api_key),
            **kwargs,
        )

    # -- transport ---------------------------------------------------------------------------------------

    def _send(self, method: str, path: str, *, timeout: float | None = None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if self.api_key:
            headers["x-api-key"] = self.api_key
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        try:
            return self._http.request(method, f"{self.base_url}{path}", headers=headers, **kwargs, **extra)
        except httpx.HTTPError as exc:
            raise error_from_transport(self.base_url, exc) from exc

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request; the answer's JSON (None for an empty body) or an `ApiError`."""
        response = self._send(method, path, **kwargs)
        if response.status_code >= 400:
            raise error_from_response(self.base_url, response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise ApiError(
                f"The server at {self.base_url} answered {path} with something that is not JSON.",
                "Check that SELFHEAL_API_URL points at the selfheal API, not another service.",
                response.status_code,
            ) from exc

    def _get(self, path: str, **params: Any) -> Any:
        return self._call("GET", path, params={k: v for k, v in params.items() if v is not None})

    def _post(self, path: str, json: Any = None) -> Any:
        return self._call("POST", path, json=json)

    # -- service -----------------------------------------------------------------------------------------

    def health(self) -> JsonObject:
        """Liveness, database reachability, version and auth mode; needs no key."""
        answer: JsonObject = self._get("/health")
        return answer

    def whoami(self) -> JsonObject:
        """The caller's name, role and the server's auth mode."""
        answer: JsonObject = self._get("/whoami")
        return answer

    def wait_until_ready(self, timeout: float = 60, interval: float = 0.2) -> JsonObject:
        """Poll GET /health until it answers 200 (a server starting up); its answer, or `Unreachable`."""
        deadline = time.monotonic() + timeout
        last = "no attempt"
        while True:
            remaining = deadline - time.monotonic()
            try:
                response = self._send("GET", "/health", timeout=max(0.05, min(2.0, remaining)))
                last = f"HTTP {response.status_code}"
                if response.status_code == 200:
                    answer: JsonObject = response.json()
                    return answer
            except Unreachable as exc:
                last = exc.__cause__.__class__.__name__
            except ValueError:  # 200 but not JSON: some other service answers there
                last = "HTTP 200 that is not JSON"
            if time.monotonic() + interval > deadline:
                raise Unreachable(
                    f"The API at {self.base_url} did not become ready within {timeout:g} s (last: {last}).",
                    NOT_READY_HINT,
                )
            time.sleep(interval)

    # -- signals -----------------------------------------------------------------------------------------

    def ingest(self, kind: SignalKind, body: bytes, content_type: str = NDJSON) -> IngestCounts:
        """POST one batch (JSON array, NDJSON or CSV with a header row) to /ingest/{kind}; atomic, idempotent."""
        answer = self._call("POST", f"/ingest/{kind}", content=body, headers={"content-type": content_type})
        return IngestCounts(
            int(answer["received"]),
            int(answer["stored"]),
            int(answer["duplicates"]),
            tuple(answer.get("unknown_merchants") or ()),
        )

    def ingest_batches(
        self, kind: SignalKind, batches: Iterable[bytes], content_type: str = NDJSON
    ) -> IngestCounts:
        """POST batches one after the other; stops at the first rejected one (earlier batches stay stored)."""
        total = IngestCounts()
        for body in batches:
            total += self.ingest(kind, body, content_type)
        return total

    # -- the merchant directory ---------------------------------------------------------------------------

    def import_merchants(self, body: bytes, content_type: str = "application/json") -> JsonObject:
        """POST a CSV or JSON directory to /merchants: a batch upsert, all or nothing."""
        answer: JsonObject = self._call(
            "POST", "/merchants", content=body, headers={"content-type": content_type}
        )
        return answer

    def merchants(
        self, limit: int | None = None, offset: int | None = None, stage: str | None = None
    ) -> list[JsonObject]:
        answer: list[JsonObject] = self._get("/merchants", limit=limit, offset=offset, stage=stage)
        return answer

    def merchant(self, merchant_id: str) -> JsonObject:
        """One merchant with its stage history."""
        answer: JsonObject = self._get(f"/merchants/{quote(merchant_id, safe='')}")
        return answer

    def unknown_merchants(
        self, window_minutes: int | None = None, as_of: str | None = None
    ) -> list[JsonObject]:
        """Merchants with signals in the window that the directory does not list."""
        answer: list[JsonObject] = self._get("/merchants/unknown", window_minutes=window_minutes, as_of=as_of)
        return answer

    # -- the agent ---------------------------------------------------------------------------------------

    def observe(self, window_minutes: int | None = None, as_of: str | None = None) -> JsonObject:
        """The window's counts, error rates and KPI totals (GET /observe)."""
        answer: JsonObject = self._get("/observe", window_minutes=window_minutes, as_of=as_of)
        return answer

    def run_cycle(
        self, as_of: str | None = None, window_minutes: int | None = None, use_llm: bool = False
    ) -> JsonObject:
        """Run one agent cycle (observe -> reason -> decide -> act) over the window ending at `as_of`."""
        body: JsonObject = {"as_of": as_of, "use_llm": use_llm}
        if window_minutes is not None:
            body["window_minutes"] = window_minutes
        answer: JsonObject = self._post("/run_cycle", body)
        return answer

    def anomalies(self, window_minutes: int | None = None, as_of: str | None = None) -> list[JsonObject]:
        answer: list[JsonObject] = self._get("/anomalies", window_minutes=window_minutes, as_of=as_of)
        return answer

    def themes(self, window_minutes: int | None = None, as_of: str | None = None) -> JsonObject:
        """Ticket themes of the window."""
        answer: JsonObject = self._get("/themes", window_minutes=window_minutes, as_of=as_of)
        return answer

    def kpi_series(
        self,
        window_minutes: int | None = None,
        as_of: str | None = None,
        stage: str | None = None,
        merchants: Sequence[str] = (),
        since: str | None = None,
    ) -> JsonObject:
        """Orders, attempts and revenue per minute against the baseline, the loss accumulating from `since`
        (GET /series/kpis)."""
        answer: JsonObject = self._get(
            "/series/kpis",
            window_minutes=window_minutes,
            as_of=as_of,
            stage=stage,
            merchant=list(merchants) or None,
            since=since,
        )
        return answer

    def incident_lifecycle(self, incident_id: str) -> JsonObject:
        """Status, scope, cost of waiting and the verdict on each executed action
        (GET /incidents/{id}/lifecycle)."""
        answer: JsonObject = self._get(f"/incidents/{incident_id}/lifecycle")
        return answer

    def error_series(
        self,
        window_minutes: int | None = None,
        as_of: str | None = None,
        source: str | None = None,
        endpoint: str | None = None,
        status_class: str | None = None,
        stage: str | None = None,
    ) -> JsonObject:
        """Requests, errors and error rate per minute for the matching logs (GET /series/errors)."""
        answer: JsonObject = self._get(
            "/series/errors",
            window_minutes=window_minutes,
            as_of=as_of,
            source=source,
            endpoint=endpoint,
            status_class=status_class,
            stage=stage,
        )
        return answer

    # -- incidents and actions ---------------------------------------------------------------------------

    def incidents(self, limit: int | None = None, status: str | None = None) -> list[JsonObject]:
        """Incidents, newest first."""
        answer: list[JsonObject] = self._get("/incidents", limit=limit, status=status)
        return answer

    def incident(self, incident_id: str) -> JsonObject:
        """One incident, whole: assessment, findings, timeline, actions and audit trail."""
        answer: JsonObject = self._get(f"/incidents/{quote(incident_id, safe='')}")
        return answer

    def actions(
        self,
        incident: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        risk: str | None = None,
    ) -> list[JsonObject]:
        """Actions, newest first, optionally of one incident, in one status and/or of one risk."""
        answer: list[JsonObject] = self._get(
            "/actions", incident=incident, status=status, limit=limit, risk=risk
        )
        return answer

    def action(self, action_id: str) -> JsonObject:
        answer: JsonObject = self._get(f"/actions/{quote(action_id, safe='')}")
        return answer

    def move_action(self, move: ActionMove, action_id: str, comment: str | None = None) -> JsonObject:
        """Approve, reject, cancel or execute an action, with an optional comment; the action afterwards."""
        answer: JsonObject = self._post(f"/actions/{quote(action_id, safe='')}/{move}", {"comment": comment})
        return answer

    def execute_action(
        self, action_id: str, comment: str | None = None, *, dry_run: bool = False, wait: bool = True
    ) -> JsonObject:
        """Execute an approved action. `wait=False` asks the server to answer at once (202, `Prefer:
        respond-async`) with the action in `executing`; poll `action(id)` for its result."""
        headers = {} if wait else {"prefer": "respond-async"}
        answer: JsonObject = self._call(
            "POST",
            f"/actions/{quote(action_id, safe='')}/execute",
            json={"comment": comment, "dry_run": dry_run},
            headers=headers,
        )
        return answer

    def stale_actions(self) -> list[JsonObject]:
        """Executions whose lease ran out, and policy-approved actions never executed."""
        answer: list[JsonObject] = self._get("/actions/stale")
        return answer

    def resume_action(self, action_id: str, force: bool = False, comment: str | None = None) -> JsonObject:
        """Run an interrupted execution again."""
        answer: JsonObject = self._post(
            "/resume_action", {"action_id": action_id, "force": force, "comment": comment}
        )
        return answer

    def fail_action(self, action_id: str, reason: str, force: bool = False) -> JsonObject:
        """Give up on an interrupted execution."""
        answer: JsonObject = self._post(
            "/fail_action", {"action_id": action_id, "reason": reason, "force": force}
        )
        return answer

    # -- keys (admin) ------------------------------------------------------------------------------------

    def create_key(self, name: str, role: str) -> JsonObject:
        """A new key; the answer's `key` is the secret, shown only this once."""
        answer: JsonObject = self._post("/keys", {"name": name, "role": role})
        return answer

    def keys(self) -> list[JsonObject]:
        answer: list[JsonObject] = self._get("/keys")
        return answer

    def revoke_key(self, key_id: str) -> JsonObject:
        answer: JsonObject = self._call("DELETE", f"/keys/{quote(key_id, safe='')}")
        return answer

    # -- knowledge (runbooks) ----------------------------------------------------------------------------

    def runbook_stats(self) -> JsonObject:
        answer: JsonObject = self._get("/runbooks/stats")
        return answer

    def runbook_documents(self) -> list[JsonObject]:
        answer: list[JsonObject] = self._get("/runbooks/documents")
        return answer

    def runbook_search(self, query: str, top: int | None = None, mode: str | None = None) -> JsonObject:
        answer: JsonObject = self._get("/runbooks/search", q=query, top=top, mode=mode)
        return answer

    def runbook_upload(self, files: Iterable[tuple[str, bytes, str]]) -> JsonObject:
        """Add runbooks, each (file name, content, content type), as one atomic batch."""
        parts = [("files", (name, content, content_type)) for name, content, content_type in files]
        answer: JsonObject = self._call("POST", "/runbooks/upload", files=parts)
        return answer

    def runbook_delete(self, document_id: str) -> JsonObject:
        answer: JsonObject = self._call("DELETE", f"/runbooks/documents/{quote(document_id, safe='')}")
        return answer

    def runbook_clear(self) -> JsonObject:
        """Remove every runbook (admin)."""
        answer: JsonObject = self._post("/runbooks/clear")
        return answer

    # -- audit -------------------------------------------------------------------------------------------

    def audit(
        self,
        actor: str | None = None,
        action: str | None = None,
        target_id: str | None = None,
        since: str | None = None,
        limit: int | None = None,
    ) -> list[JsonObject]:
        """Audit records, newest first; `action` is a prefix (e.g. `incident.`)."""
        answer: list[JsonObject] = self._get(
            "/audit", actor=actor, action=action, target_id=target_id, since=since, limit=limit
        )
        return answer

    def audit_verify(self) -> JsonObject:
        """Walk the audit hash chain: ok, records, and the first bad record if any."""
        answer: JsonObject = self._get("/audit/verify")
        return answer

    # -- notifications -----------------------------------------------------------------------------------

    def notifications(
        self,
        status: str | None = None,
        incident_id: str | None = None,
        limit: int | None = None,
    ) -> JsonObject:
        """Notifications to Slack and PagerDuty, newest first: `{"total", "items"}` with each one's delivery
        state (status, attempts, last HTTP status, last error)."""
        answer: JsonObject = self._get("/notifications", status=status, incident_id=incident_id, limit=limit)
        return answer

    # -- lifetime ----------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP connections, unless the `httpx.Client` was handed in (its owner closes it)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
