"""Streaming a file to the API in batches: each batch a complete body of the file's format."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from selfheal.client import ApiError, IngestCounts, SelfhealClient
from selfheal.client.batches import ndjson_batches
from selfheal.client.ingest import IngestStopped, ingest_file
from selfheal.signals import Ticket

ROWS = [{"id": f"e{i}", "merchant_id": f"m{i}", "note": f"line, with comma {i}"} for i in range(5)]


class RecordingApi:
    """Answers every batch like the API (all stored), or 422 from batch number `reject_at` on."""

    def __init__(self, reject_at: int | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.reject_at = reject_at

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.reject_at is not None and len(self.requests) > self.reject_at:
            details = [{"field": "item 0.status_code", "reason": "must be 100-599"}]
            error = {"code": "invalid_input", "message": "batch failed validation", "details": details}
            return httpx.Response(422, json={"error": error})
        items = self.items(request)
        return httpx.Response(
            200, json={"kind": "logs", "received": len(items), "stored": len(items), "duplicates": 0}
        )

    @staticmethod
    def items(request: httpx.Request) -> list[dict[str, str]]:
        """The batch's items, parsed the way its content type says."""
        text = request.content.decode()
        kind = request.headers["content-type"]
        if kind == "text/csv":
            return list(csv.DictReader(io.StringIO(text)))
        if kind == "application/json":
            parsed: list[dict[str, str]] = json.loads(text)
            return parsed
        return [json.loads(line) for line in text.splitlines()]


def post(path: Path, api: RecordingApi, batch_size: int = 2) -> IngestCounts:
    client = SelfhealClient("http://api.test", "shk_k", http=httpx.Client(transport=httpx.MockTransport(api)))
    return ingest_file(client, "logs", path, batch_size, Console(file=io.StringIO()))


def write_csv(path: Path) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(ROWS[0]))
        writer.writeheader()
        writer.writerows(ROWS)
    return path


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("logs.jsonl", "application/x-ndjson"), ("logs.csv", "text/csv"), ("logs.json", "application/json")],
)
def test_every_format_arrives_whole_in_batches_of_its_own_type(
    tmp_path: Path, name: str, content_type: str
) -> None:
    path = tmp_path / name
    if name.endswith(".csv"):
        write_csv(path)
    elif name.endswith(".json"):
        path.write_text(json.dumps(ROWS))
    else:
        path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n\n")  # a blank line is skipped
    api = RecordingApi()
    totals = post(path, api)
    assert totals == IngestCounts(received=5, stored=5, duplicates=0)
    assert [len(api.items(r)) for r in api.requests] == [2, 2, 1]
    assert {r.headers["content-type"] for r in api.requests} == {content_type}
    assert [item for r in api.requests for item in api.items(r)] == ROWS
    assert all(r.url.path == "/ingest/logs" and r.headers["x-api-key"] == "shk_k" for r in api.requests)


def test_a_rejected_batch_stops_the_stream_and_says_which(tmp_path: Path) -> None:
    api = RecordingApi(reject_at=1)
    with pytest.raises(ApiError) as caught:
        post(write_csv(tmp_path / "logs.csv"), api)
    assert len(api.requests) == 2  # the first batch is stored, the third is never sent
    exc = caught.value
    assert exc.message.startswith("batch 1 rejected (422): Batch failed validation (item 0.status_code")
    assert exc.status == 422
    assert exc.details == [{"field": "item 0.status_code", "reason": "must be 100-599"}]


def test_no_server_is_reported_as_is(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    path = tmp_path / "logs.jsonl"
    path.write_text(json.dumps(ROWS[0]))
    client = SelfhealClient("http://api.test", http=httpx.Client(transport=httpx.MockTransport(refuse)))
    with pytest.raises(ApiError, match="cannot be reached"):
        ingest_file(client, "logs", path, 10, Console(file=io.StringIO()))


def test_ndjson_batches_of_typed_signals_leave_out_unset_fields() -> None:
    tickets = [
        Ticket.model_validate(
            {
                "id": f"t{i}",
                "created_at": "2024-03-06T12:00:00Z",
                "subject": "s",
                "body": "b",
                "merchant_id": "m1",
                "migration_stage": "pilot",
            }
        )
        for i in range(3)
    ]
    batches = list(ndjson_batches(tickets, 2))
    assert [b.count(b"\n") + 1 for b in batches] == [2, 1]
    first = json.loads(batches[0].split(b"\n")[0])
    assert first["id"] == "t0"
    assert None not in first.values()
    assert Ticket.model_validate(first) == tickets[0]


def test_an_api_dying_mid_file_reports_the_acknowledged_batches(tmp_path: Path) -> None:
    answered: list[int] = []

    def dies_after_two(request: httpx.Request) -> httpx.Response:
        if len(answered) == 2:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        answered.append(1)
        return httpx.Response(200, json={"kind": "logs", "received": 1, "stored": 1, "duplicates": 0})

    path = tmp_path / "logs.jsonl"
    path.write_text("\n".join(json.dumps({**ROWS[0], "id": str(i)}) for i in range(5)))
    client = SelfhealClient(
        "http://api.test", http=httpx.Client(transport=httpx.MockTransport(dies_after_two))
    )
    with pytest.raises(IngestStopped) as caught:
        ingest_file(client, "logs", path, 1, Console(file=io.StringIO()))
    stopped = caught.value
    assert stopped.batches_acknowledged == 2 and stopped.acknowledged.stored == 2
    assert "2 batches acknowledged" in stopped.summary() and "batch 2 not acknowledged" in stopped.message
