"""SelfhealClient over `httpx.MockTransport`: what it sends, and every failure as an ApiError with a hint."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pytest

from selfheal.client import (
    ApiError,
    IngestCounts,
    NotAvailable,
    SelfhealClient,
    Unreachable,
    signal_kind,
)
from selfheal.errors import SelfhealError
from selfheal.settings import Settings

BASE = "http://selfheal.test:8000"
Handler = Callable[[httpx.Request], httpx.Response]


def client_with(handler: Handler, api_key: str | None = "shk_secret") -> SelfhealClient:
    return SelfhealClient(BASE, api_key, http=httpx.Client(transport=httpx.MockTransport(handler)))


def api_error(status: int, code: str, message: str, details: object = None) -> Handler:
    """A handler answering like the API's error mapping: {"error": {code, message, details}}."""
    body = {"error": {"code": code, "message": message, "details": details}}
    return lambda request: httpx.Response(status, json=body)


def failure(handler: Handler, call: Callable[[SelfhealClient], object] = lambda c: c.incidents()) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(client_with(handler))
    return caught.value


def test_every_request_carries_the_api_key_and_drops_unset_parameters() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    client_with(handler).actions(incident="inc-1", status=None, limit=5)
    request = seen[0]
    assert request.headers["x-api-key"] == "shk_secret"
    assert str(request.url) == f"{BASE}/actions?incident=inc-1&limit=5"


def test_no_key_means_no_key_header() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": "ok"})

    client_with(handler, api_key="").health()
    assert "x-api-key" not in seen[0].headers


def test_from_settings_uses_the_configured_address_and_key_unless_given() -> None:
    settings = Settings(api_url="http://configured:1/", api_key="shk_configured")
    configured = SelfhealClient.from_settings(settings)
    assert (configured.base_url, configured.api_key) == ("http://configured:1", "shk_configured")
    chosen = SelfhealClient.from_settings(settings, base_url="http://other:2", api_key="shk_other")
    assert (chosen.base_url, chosen.api_key) == ("http://other:2", "shk_other")
    configured.close()
    chosen.close()


def test_run_cycle_and_action_moves_post_what_the_api_expects() -> None:
    seen: list[tuple[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, json.loads(request.content)))
        return httpx.Response(200, json={"status": "approved"})

    client = client_with(handler)
    client.run_cycle("2024-03-06T12:00:00+00:00")
    client.run_cycle(None, window_minutes=30, use_llm=True)
    assert client.move_action("approve", "act-1", "looks safe") == {"status": "approved"}
    assert seen == [
        ("/run_cycle", {"as_of": "2024-03-06T12:00:00+00:00", "use_llm": False}),
        ("/run_cycle", {"as_of": None, "use_llm": True, "window_minutes": 30}),
        ("/actions/act-1/approve", {"comment": "looks safe"}),
    ]


def test_runbook_upload_is_multipart_field_files() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"documents": [], "chunks": 0})

    client_with(handler).runbook_upload([("a.md", b"# A\nbody", "text/markdown")])
    request = seen[0]
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert b'name="files"; filename="a.md"' in request.content
    assert b"# A\nbody" in request.content


def test_ingest_posts_the_body_with_its_content_type_and_sums_batches() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        lines = request.content.count(b"\n") + 1
        return httpx.Response(
            200, json={"kind": "logs", "received": lines, "stored": lines - 1, "duplicates": 1}
        )

    total = client_with(handler).ingest_batches("logs", [b'{"a":1}\n{"a":2}', b'{"a":3}'])
    assert total == IngestCounts(received=3, stored=1, duplicates=2)
    assert [r.url.path for r in seen] == ["/ingest/logs", "/ingest/logs"]
    assert all(r.headers["content-type"] == "application/x-ndjson" for r in seen)
    assert seen[0].content == b'{"a":1}\n{"a":2}'


def test_a_missing_or_wrong_key_says_how_to_get_one() -> None:
    exc = failure(api_error(401, "unauthorized", "unknown or revoked API key"))
    assert isinstance(exc, SelfhealError)  # one error tree: commands report it like any other
    assert (exc.status, exc.code) == (401, "unauthorized")
    assert exc.message == "Unknown or revoked API key"
    assert "selfheal keys create" in exc.hint


def test_a_role_too_low_says_to_ask_for_a_higher_one() -> None:
    exc = failure(api_error(403, "forbidden", "this needs the approver role"))
    assert exc.status == 403
    assert "higher role" in exc.hint


def test_a_route_the_server_lacks_is_not_available_naming_method_and_path() -> None:
    exc = failure(api_error(404, "not_found", "Not Found"), lambda c: c.themes(window_minutes=60))
    assert isinstance(exc, NotAvailable)
    assert exc.message == "This capability is not available on this server."
    assert f"The API at {BASE} has no GET /themes" in exc.hint
    assert isinstance(failure(api_error(405, "method_not_allowed", "Method Not Allowed")), NotAvailable)


def test_a_missing_item_is_an_error_of_its_own_not_a_missing_capability() -> None:
    exc = failure(api_error(404, "not_found", "incident inc-9 not found"), lambda c: c.incident("inc-9"))
    assert not isinstance(exc, NotAvailable)
    assert (exc.status, exc.code, exc.message) == (404, "not_found", "Incident inc-9 not found")


def test_too_large_says_which_setting_limits_it() -> None:
    exc = failure(api_error(413, "payload_too_large", "body exceeds 1048576 bytes"))
    assert "SELFHEAL_MAX_BODY_BYTES" in exc.hint


def test_invalid_input_names_the_fields_and_keeps_the_details() -> None:
    details = [{"field": f"item {i}.status_code", "reason": "must be 100-599"} for i in range(7)]
    exc = failure(
        api_error(422, "invalid_input", "batch failed validation", details),
        lambda c: c.ingest("logs", b"{}"),
    )
    assert exc.message.startswith("Batch failed validation (item 0.status_code: must be 100-599; ")
    assert exc.message.count("must be 100-599") == 5  # the first five, readable; all of them in details
    assert exc.details == details
    assert "names each field" in exc.hint


def test_a_server_failure_points_at_the_server_log() -> None:
    exc = failure(api_error(500, "internal_error", "internal error; see the server log"))
    assert exc.status == 500
    assert "selfheal api" in exc.hint


def test_an_error_without_the_api_envelope_still_reads() -> None:
    exc = failure(lambda request: httpx.Response(502, text="Bad Gateway from the proxy"))
    assert (exc.status, exc.message) == (502, "Bad Gateway from the proxy")


def test_an_answer_that_is_not_json_says_the_address_may_be_wrong() -> None:
    exc = failure(lambda request: httpx.Response(200, text="<html>hello</html>"))
    assert "not JSON" in exc.message
    assert "SELFHEAL_API_URL" in exc.hint


def test_no_server_is_unreachable_and_says_how_to_start_one() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    exc = failure(refuse)
    assert isinstance(exc, Unreachable)
    assert exc.status is None
    assert exc.message == f"The API at {BASE} cannot be reached (ConnectError)."
    assert "selfheal api" in exc.hint


def test_a_timeout_is_unreachable_and_says_the_server_may_be_busy() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    exc = failure(slow)
    assert isinstance(exc, Unreachable)
    assert "did not answer in time" in exc.message
    assert "busy" in exc.hint


def test_wait_until_ready_returns_once_health_answers() -> None:
    answers = iter([None, httpx.Response(503), httpx.Response(200, json={"status": "ok"})])

    def starting(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if answer is None:
            raise httpx.ConnectError("connection refused", request=request)
        return answer

    assert client_with(starting).wait_until_ready(timeout=5, interval=0.01) == {"status": "ok"}
    assert next(answers, "all used") == "all used"


def test_wait_until_ready_gives_up_after_the_timeout_with_a_clear_error() -> None:
    attempts = 0

    def never(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        raise httpx.ConnectError("connection refused", request=request)

    started = time.monotonic()
    with pytest.raises(Unreachable) as caught:
        client_with(never).wait_until_ready(timeout=0.3, interval=0.05)
    elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 2
    assert attempts >= 3
    assert caught.value.message == (
        f"The API at {BASE} did not become ready within 0.3 s (last: ConnectError)."
    )
    assert "selfheal api" in caught.value.hint


def test_close_leaves_a_handed_in_http_client_open() -> None:
    http = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, json={})))
    with SelfhealClient(BASE, http=http) as client:
        client.health()
    assert not http.is_closed
    own = SelfhealClient(BASE)
    own.close()
    assert own._http.is_closed


def test_signal_kind_accepts_the_three_kinds_only() -> None:
    assert [signal_kind(k) for k in ("tickets", "logs", "metrics")] == ["tickets", "logs", "metrics"]
    with pytest.raises(ValueError, match="tickets, logs or metrics"):
        signal_kind("orders")


def test_wait_until_ready_does_not_take_another_service_for_the_api() -> None:
    other = client_with(lambda request: httpx.Response(200, text="<html>welcome</html>"))
    with pytest.raises(Unreachable, match=r"within 0.1 s \(last: HTTP 200 that is not JSON\)"):
        other.wait_until_ready(timeout=0.1, interval=0.02)
