"""`GET /notifications` over a real app: a cycle run through the API queues notifications that the app's
background worker delivers to a real receiver; a failing receiver's rows show status, attempts and the
last error; bad filters are 422 with the field, an unknown id 404."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from notifykit import Receiver, routes_settings

from selfheal.api.app import create_app
from selfheal.settings import AuthMode
from selfheal.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "schedule"))
from cyclekit import FAULT_AS_OF, load_webhook_fault


def _wait_for(client: TestClient, done: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        page: dict[str, Any] = client.get("/notifications").json()
        if done(page) or time.monotonic() > deadline:
            return page
        threading.Event().wait(0.1)


def test_cycle_through_the_api_notifies_and_lists(store: Store, tmp_path: Path) -> None:
    load_webhook_fault(store)
    with Receiver([(404, {})]) as rx:  # the first call (to Slack or PagerDuty) is refused for good
        settings = routes_settings(rx, auth_mode=AuthMode.open, data_dir=tmp_path, notify_poll_seconds=0.2)
        with TestClient(create_app(settings, store)) as client:
            cycle = client.post("/run_cycle", json={"as_of": FAULT_AS_OF.isoformat()})
            assert cycle.status_code == 200, cycle.text
            incident = cycle.json()["outcome"]["incident_id"]
            assert [n["event"] for n in cycle.json()["notices"]] == ["opened"]
            page = _wait_for(client, lambda p: {i["status"] for i in p["items"]} == {"delivered", "failed"})
            assert page["total"] == 2
            failed = client.get("/notifications", params={"status": "failed"}).json()
            assert failed["total"] == 1
            (row,) = failed["items"]
            assert row["attempts"] == 1 and row["last_status"] == 404
            assert row["last_error"].startswith("HTTP 404")
            assert row["incident_id"] == incident and row["event"] == "opened"
            assert "payload" not in row or row["payload"] is None
            one = client.get(f"/notifications/{row['id']}").json()
            assert one["payload"]  # the body it was sent with
            by_incident = client.get("/notifications", params={"incident_id": incident}).json()
            assert by_incident["total"] == 2
            # paginated like every listing: the total and the next cursor as headers too
            first = client.get("/notifications", params={"limit": 1})
            assert first.headers["X-Total-Count"] == "2" and len(first.json()["items"]) == 1
            second = client.get(
                "/notifications", params={"limit": 1, "cursor": first.headers["X-Next-Cursor"]}
            )
            assert "X-Next-Cursor" not in second.headers
            assert {first.json()["items"][0]["id"], second.json()["items"][0]["id"]} == {
                i["id"] for i in page["items"]
            }
            bad = client.get("/notifications", params={"status": "lost"})
            assert bad.status_code == 422
            assert "status" in bad.text
            assert client.get("/notifications/ntf-nothing").status_code == 404
            audit = client.get("/audit", params={"action": "notification."}).json()
            assert {a["action"] for a in audit} == {"notification.delivered", "notification.failed"}
    assert len(rx.requests) == 2
