"""The narrative schema sent to servers, its pydantic twin, grounding checks and the LLM settings."""

from __future__ import annotations

import json
from typing import Any

import pytest
from narrate_fakes import grounded_answer, make_assessment, make_findings, strict_schema_ok
from pydantic import BaseModel

from selfheal.narrate import NarrativeSkipped, SkipReason, build_prompt
from selfheal.narrate.schema import (
    ActionDescription,
    CitedExplanation,
    CitedSummary,
    Narrative,
    check_grounding,
    narrative_json_schema,
    parse_narrative,
)
from selfheal.settings import LLMProvider, Settings, settings_table


def _object_fields(schema: dict[str, Any], model: type[BaseModel]) -> None:
    assert set(schema["properties"]) == set(model.model_fields)
    assert set(schema["required"]) == set(model.model_fields)


def test_json_schema_matches_the_pydantic_model() -> None:
    schema = narrative_json_schema(["a", "b"], ["k1", "k2"])
    _object_fields(schema, Narrative)
    _object_fields(schema["properties"]["summary"], CitedSummary)
    _object_fields(schema["properties"]["root_cause"], CitedExplanation)
    _object_fields(schema["properties"]["actions"]["items"], ActionDescription)
    assert strict_schema_ok(schema)
    assert "$ref" not in json.dumps(schema)
    assert schema["properties"]["actions"]["items"]["properties"]["key"]["enum"] == ["k1", "k2"]


def test_prompt_schema_enumerates_evidence_and_runbook_ids() -> None:
    prompt = build_prompt(make_assessment(), make_findings())
    assert prompt.citable_ids == {"m-007/wave_1", "anm-webhook-403", "rb-webhooks#3"}
    assert prompt.action_keys == ("replay_failed_webhooks", "rollback_stage")
    answer = parse_narrative(grounded_answer(prompt.user, prompt.schema))
    check_grounding(answer, prompt.citable_ids, prompt.action_keys)


def test_duplicate_action_is_rejected() -> None:
    prompt = build_prompt(make_assessment(), make_findings())
    data = json.loads(grounded_answer(prompt.user, prompt.schema))
    data["actions"].append(dict(data["actions"][0]))
    with pytest.raises(NarrativeSkipped) as info:
        check_grounding(parse_narrative(json.dumps(data)), prompt.citable_ids, prompt.action_keys)
    assert info.value.reason is SkipReason.unknown_action


def test_overlong_text_is_malformed() -> None:
    prompt = build_prompt(make_assessment(), make_findings())
    data = json.loads(grounded_answer(prompt.user, prompt.schema))
    data["summary"]["text"] = "x" * 5000
    with pytest.raises(NarrativeSkipped) as info:
        parse_narrative(json.dumps(data))
    assert info.value.reason is SkipReason.malformed_output
    assert "summary.text" in info.value.message


def test_llm_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SELFHEAL_LLM_PROVIDER", "openai")
    monkeypatch.setenv("SELFHEAL_LLM_BASE_URL", "http://10.0.0.5:8000/v1")
    monkeypatch.setenv("SELFHEAL_LLM_MODEL", "qwen2.5-7b-instruct")
    monkeypatch.setenv("SELFHEAL_LLM_API_KEY", "sk-secret-value")
    monkeypatch.setenv("SELFHEAL_LLM_TIMEOUT_SECONDS", "3.5")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.llm_provider is LLMProvider.openai
    assert settings.llm_base_url == "http://10.0.0.5:8000/v1"
    assert settings.llm_model == "qwen2.5-7b-instruct"
    assert settings.llm_timeout_seconds == 3.5
    assert settings.llm_api_key is not None
    assert settings.llm_api_key.get_secret_value() == "sk-secret-value"
    assert "sk-secret-value" not in repr(settings)


def test_llm_defaults_and_settings_table(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PROVIDER", "BASE_URL", "MODEL", "API_KEY", "TIMEOUT_SECONDS", "ENABLED"):
        monkeypatch.delenv(f"SELFHEAL_LLM_{name}", raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.llm_provider is LLMProvider.ollama
    assert settings.llm_model == "llama3.2"
    assert settings.llm_timeout_seconds == 20.0
    table = settings_table()
    assert "| `SELFHEAL_LLM_TIMEOUT_SECONDS` | `20.0` |" in table
    assert "| `SELFHEAL_LLM_PROVIDER` | `ollama` |" in table


def test_invalid_timeout_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SELFHEAL_LLM_TIMEOUT_SECONDS", "0")
    with pytest.raises(ValueError, match="llm_timeout_seconds"):
        Settings(_env_file=None)  # type: ignore[call-arg]
