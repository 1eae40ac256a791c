"""Helpers for the act tests: proposals, incidents, the PostgreSQL test URL."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from selfheal.decide.model import ProposedAction, Risk
from selfheal.records import dt_to_ms, utcnow
from selfheal.store import Store, incidents_repo

PG_URL = os.environ.get("SELFHEAL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def proposal(
    key: str = "replay_failed_webhooks",
    risk: Risk = Risk.medium,
    confidence: float = 0.9,
    requires_approval: bool = False,
    **text: Any,
) -> ProposedAction:
    fields: dict[str, Any] = {
        "title": f"Run {key}",
        "description": "Replay the order.created webhooks that failed",
        "rationale": "payments without orders",
        "expected_effect": "missing orders appear",
        "params": {},
    }
    fields.update(text)
    return ProposedAction(
        key=key, risk=risk, confidence=confidence, requires_approval=requires_approval, **fields
    )


def make_incident(store: Store, category: str = "webhook_delivery") -> str:
    now = dt_to_ms(utcnow())
    with store.transaction() as conn:
        return incidents_repo.insert_incident(
            conn,
            {
                "created_ms": now,
                "updated_ms": now,
                "as_of_ms": now,
                "window_minutes": 60,
                "status": "open",
                "severity": "high",
                "category": category,
                "title": "Paid orders missing",
                "assessment": {"blast_radius": {"stages": ["wave_1"], "merchants": [{"merchant_id": "m-1"}]}},
                "findings": {},
                "observation": {},
                "timeline": [],
            },
        )


Seeder = Callable[..., list[str]]


class Receiver:
    """A real HTTP server on 127.0.0.1 in a thread. `plan` holds (status, delay_seconds, headers) answers
    used in order; once it is used up every request gets 200. Every request is recorded."""

    def __init__(self, plan: list[tuple[int, float, dict[str, str]]] | None = None) -> None:
        self.plan = list(plan or [])
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    status, delay, headers = receiver.plan.pop(0) if receiver.plan else (200, 0.0, {})
                if delay:
                    time.sleep(delay)
                payload = b'{"ok": true}'
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
