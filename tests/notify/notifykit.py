"""A real HTTP receiver for notification tests (Slack- and PagerDuty-like), notices, and a stepped clock."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from selfheal.decide.model import Estimate
from selfheal.decide.plan_model import CostOfWaiting, Notice, NoticeEvent, NoticeMerchant
from selfheal.settings import Settings

HANG = "hang"
AS_OF = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)


class Receiver:
    """A threaded HTTP server on 127.0.0.1:<free port>. `script` holds the answers in order, each
    (status, headers) or HANG (block until `release()`); once used up every request gets 200 (Slack's `ok`)
    or 202 (PagerDuty's JSON, on /v2/enqueue). Every request is recorded with its parsed JSON body."""

    def __init__(self, script: list[tuple[int, dict[str, str]] | str] | None = None) -> None:
        self.script = list(script or [])
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "json": json.loads(body)}
                    )
                    answer = receiver.script.pop(0) if receiver.script else None
                receiver.arrived.set()
                if answer == HANG:
                    receiver.released.wait(30)
                    return
                if isinstance(answer, tuple):
                    status, headers = answer
                    payload = b'{"status":"error","message":"try later"}'
                elif self.path.startswith("/v2/enqueue"):
                    status, headers = 202, {}
                    dedup = json.loads(body).get("dedup_key", "")
                    payload = json.dumps(
                        {"status": "success", "message": "Event processed", "dedup_key": dedup}
                    ).encode()
                else:
                    status, headers, payload = 200, {}, b"ok"
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
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def release(self) -> None:
        self.released.set()

    def posts(self, path_prefix: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["path"].startswith(path_prefix)]

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def routes_settings(rx: Receiver, **over: Any) -> Settings:
    """Settings with a Slack route (every severity) and a PagerDuty route (high and above), both at `rx`."""
    values: dict[str, Any] = {
        "notify_routes": [
            {"name": "ops-slack", "kind": "slack", "url": f"{rx.base}/services/T000/B000/XXXX"},
            {"name": "oncall", "kind": "pagerduty", "routing_key": "R0UT1NGKEY", "min_severity": "high"},
        ],
        "notify_pagerduty_url": f"{rx.base}/v2/enqueue",
        "notify_ui_url": "http://selfheal.example:8501",
        "notify_timeout_seconds": 2.0,
        "dense_embeddings": False,
    }
    values.update(over)
    return Settings(**values)


def notice(event: NoticeEvent = NoticeEvent.opened, **over: Any) -> Notice:
    values: dict[str, Any] = {
        "event": event,
        "incident_id": None,
        "key": event.value,
        "as_of": AS_OF,
        "title": "Order webhooks failing at wave_1 merchants",
        "severity": "critical",
        "category": "webhook_delivery",
        "stages": ("wave_1",),
        "merchants": (
            NoticeMerchant(merchant_id="m-007", stage="wave_1", lost_revenue=1250.0),
            NoticeMerchant(merchant_id="m-003", stage="wave_1", lost_revenue=830.5),
        ),
        "merchants_total": 9,
        "currency": "EUR",
        "lost_revenue": Estimate(value=4200.0, low=3100.0, high=5600.0),
        "lost_revenue_per_hour": Estimate(value=2100.0, low=1550.0, high=2800.0),
        "window_minutes": 60,
        "receivers": ("ops-slack", "oncall"),
    }
    if event == NoticeEvent.waiting:
        values["cost_of_waiting"] = CostOfWaiting(
            actions_waiting=("rollback_stage",), lost_revenue_per_hour=2100.0, currency="EUR"
        )
    values.update(over)
    return Notice(**values)


class SteppedClock:
    """A clock that only moves when slept on: `sleep` records the delay and advances the time."""

    def __init__(self, start: float) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
