"""A whole cycle on a real SQLite store, with the LLM narrative asked for: it completes either way."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from narrate_fakes import AS_OF, FakeLLMServer, llm_settings

from selfheal.cycle import CycleDeps, CycleResult, run_cycle
from selfheal.settings import LLMProvider, Settings
from selfheal.signals import LogEvent
from selfheal.store import Store, incidents_repo, signals_repo


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """Twenty paid orders at one wave_1 merchant, none of which got its order.created."""
    store = Store.open(f"sqlite:///{tmp_path / 'selfheal.db'}")
    events = [
        LogEvent(
            ts=AS_OF - timedelta(minutes=40, seconds=-i * 30),
            merchant_id="m-007",
            source="payment",
            endpoint="POST /payments/capture",
            status_code=200,
            event="payment.succeeded",
            correlation_id=f"ord-{i}",
            migration_stage="wave_1",
        )
        for i in range(20)
    ]
    with store.transaction() as conn:
        signals_repo.store_logs(conn, events)
    return store


def _run(store: Store, settings: Settings, use_llm: bool = True) -> CycleResult:
    return run_cycle(CycleDeps(store=store, settings=settings), AS_OF, 60, use_llm=use_llm, actor="test")


def _stored(store: Store, result: CycleResult) -> tuple[dict[str, Any], dict[str, Any]]:
    assert result.outcome.incident_id is not None
    with store.read() as conn:
        incident = incidents_repo.get_incident(conn, result.outcome.incident_id)
        (run,) = [r for r in incidents_repo.list_cycle_runs(conn) if r.id == result.cycle_id]
    return incident.model_dump(), run.model_dump()


def test_cycle_with_llm_stores_the_narrative(store: Store, llm_server: FakeLLMServer) -> None:
    result = _run(store, llm_settings(LLMProvider.ollama, llm_server.ollama_url))

    assert result.assessment is not None
    assert result.assessment.narrative_source == "llm:ollama/llama3.2"
    assert result.assessment.summary.startswith("LLM SUMMARY")
    assert "narrate" in result.stage_ms
    incident, run = _stored(store, result)
    assert incident["assessment"]["narrative_source"] == "llm:ollama/llama3.2"
    assert incident["assessment"]["narrative_citations"]["summary"]
    assert "Narrative written by ollama" in run["summary"]["narrative"]
    assert llm_server.shape_errors == []


def test_cycle_completes_when_the_server_is_down(store: Store, closed_port: int) -> None:
    settings = llm_settings(LLMProvider.openai, f"http://127.0.0.1:{closed_port}/v1")
    without_llm = _run(store, settings, use_llm=False)
    result = _run(store, settings)

    assert result.assessment is not None
    assert without_llm.assessment is not None
    assert result.assessment.narrative_source == "deterministic"
    # The second cycle continues the incident the first opened: the same deterministic cause, its money
    # sentence replaced by the incident's own loss so far (one figure per concept, not both).
    cause = without_llm.assessment.summary.split(" Lost so far since ")[0]
    assert result.assessment.summary.startswith(cause)
    assert result.assessment.summary.count("ost so far since") == 1
    incident, run = _stored(store, result)
    note = run["summary"]["narrative"]
    assert "(connection_refused)" in note
    assert incident["assessment"]["narrative_note"] == note


def test_cycle_without_llm_records_no_note(store: Store, llm_server: FakeLLMServer) -> None:
    result = _run(store, llm_settings(LLMProvider.ollama, llm_server.ollama_url), use_llm=False)
    _, run = _stored(store, result)
    assert run["summary"]["narrative"] is None
    assert llm_server.requests == []


def test_api_run_cycle_use_llm_toggle(store: Store, llm_server: FakeLLMServer) -> None:
    from fastapi.testclient import TestClient

    from selfheal.api.app import create_app

    settings = llm_settings(LLMProvider.openai, llm_server.openai_url, auth_mode="open")
    with TestClient(create_app(settings, store)) as client:
        plain = client.post("/run_cycle", json={"as_of": AS_OF.isoformat(), "use_llm": False})
        narrated = client.post("/run_cycle", json={"as_of": AS_OF.isoformat(), "use_llm": True})
    assert plain.status_code == 200, plain.text
    assert narrated.status_code == 200, narrated.text
    assert plain.json()["assessment"]["narrative_source"] == "deterministic"
    body = narrated.json()["assessment"]
    assert body["narrative_source"] == "llm:openai/gpt-4o-mini"
    assert body["root_cause"]["explanation"].startswith("LLM EXPLANATION")
    assert body["root_cause"]["category"] == plain.json()["assessment"]["root_cause"]["category"]
    assert len(llm_server.chat_requests()) == 1
