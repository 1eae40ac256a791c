"""narrate() against a real local HTTP server speaking Ollama's and OpenAI's wire formats."""

from __future__ import annotations

import json
from typing import Any

import pytest
from narrate_fakes import FakeLLMServer, grounded_answer, llm_settings, schema_ids

from selfheal.decide.model import Assessment
from selfheal.narrate import SkipReason, decision_view, narrate
from selfheal.narrate.prompt import SYSTEM_PROMPT
from selfheal.reason.model import Findings
from selfheal.settings import LLMProvider

PROVIDERS = [LLMProvider.ollama, LLMProvider.openai]


def _url(server: FakeLLMServer, provider: LLMProvider) -> str:
    return server.ollama_url if provider is LLMProvider.ollama else server.openai_url


def _assert_deterministic(result: Assessment | None, original: Assessment, reason: SkipReason) -> str:
    assert result is not None
    assert result.narrative_source == "deterministic"
    assert result.narrative_note is not None
    assert f"({reason.value})" in result.narrative_note
    assert result.model_dump(exclude={"narrative_note"}) == original.model_dump(exclude={"narrative_note"})
    return result.narrative_note


@pytest.mark.parametrize("provider", PROVIDERS)
def test_success_rewrites_only_the_narrative(
    llm_server: FakeLLMServer, assessment: Assessment, findings: Findings, provider: LLMProvider
) -> None:
    settings = llm_settings(provider, _url(llm_server, provider))
    result, note = narrate(assessment, findings, settings, use_llm=True)

    assert result is not None
    assert llm_server.shape_errors == []
    assert result.summary == "LLM SUMMARY: paid orders are missing for wave_1 merchants."
    assert result.root_cause.explanation == "LLM EXPLANATION: the order webhook answers 403."
    assert [a.description for a in result.actions] == [
        "LLM DESCRIPTION of replay_failed_webhooks.",
        "LLM DESCRIPTION of rollback_stage.",
    ]
    assert result.narrative_source == f"llm:{provider.value}/{settings.llm_model}"
    assert note is not None
    assert note == result.narrative_note
    assert "Narrative written by" in note
    assert result.narrative_citations["summary"] == ("anm-webhook-403", "m-007/wave_1")
    assert set(result.narrative_citations) == {
        "summary",
        "root_cause",
        "action:replay_failed_webhooks",
        "action:rollback_stage",
    }
    assert decision_view(result) == decision_view(assessment)
    assert result.root_cause.hypothesis == assessment.root_cause.hypothesis


def test_ollama_request_shape(llm_server: FakeLLMServer, assessment: Assessment, findings: Findings) -> None:
    narrate(assessment, findings, llm_settings(LLMProvider.ollama, llm_server.ollama_url), use_llm=True)

    (req,) = llm_server.chat_requests()
    assert req.method == "POST"
    assert req.path == "/api/chat"
    body = req.body
    assert body["model"] == "llama3.2"
    assert body["stream"] is False
    assert body["options"]["temperature"] == 0
    prompt_chars = sum(len(m["content"]) for m in body["messages"])
    assert body["options"]["num_ctx"] >= max(4096, prompt_chars // 3)
    assert body["options"]["num_ctx"] % 1024 == 0
    assert body["options"]["num_predict"] == 1024
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["messages"][0]["content"] == SYSTEM_PROMPT
    schema = body["format"]
    assert schema["required"] == ["summary", "root_cause", "actions"]
    assert schema_ids(schema) == ["anm-webhook-403", "m-007/wave_1", "rb-webhooks#3"]
    assert "Authorization" not in req.headers


def test_openai_request_shape_and_key(
    llm_server: FakeLLMServer, assessment: Assessment, findings: Findings
) -> None:
    llm_server.api_key = "sk-test-123"
    settings = llm_settings(LLMProvider.openai, llm_server.openai_url, llm_api_key="sk-test-123")
    result, _ = narrate(assessment, findings, settings, use_llm=True)

    assert result is not None
    assert result.narrative_source == "llm:openai/gpt-4o-mini"
    (req,) = llm_server.chat_requests()
    assert req.path == "/v1/chat/completions"
    assert req.headers["Authorization"] == "Bearer sk-test-123"
    rf = req.body["response_format"]
    assert rf["type"] == "json_schema"
    assert rf["json_schema"]["name"] == "incident_narrative"
    assert rf["json_schema"]["strict"] is True
    assert req.body["temperature"] == 0
    assert llm_server.shape_errors == []


def test_openai_wrong_key_is_unauthorized(
    llm_server: FakeLLMServer, assessment: Assessment, findings: Findings
) -> None:
    llm_server.api_key = "sk-right"
    settings = llm_settings(LLMProvider.openai, llm_server.openai_url, llm_api_key="sk-wrong")
    result, _ = narrate(assessment, findings, settings, use_llm=True)
    note = _assert_deterministic(result, assessment, SkipReason.unauthorized)
    assert "sk-wrong" not in note
    assert "Incorrect API key" in note


@pytest.mark.parametrize("provider", PROVIDERS)
def test_timeout_keeps_deterministic_text(
    llm_server: FakeLLMServer, assessment: Assessment, findings: Findings, provider: LLMProvider
) -> None:
    llm_server.delay_seconds = 10
    settings = llm_settings(provider, _url(llm_server, provider), llm_timeout_seconds=0.3)
    result, note = narrate(assessment, findings, settings, use_llm=True)
    assert note == _assert_deterministic(result, assessment, SkipReason.timeout)
    assert "0.3 s" in note


@pytest.mark.parametrize("provider", PROVIDERS)
def test_connection_refused(
    closed_port: int, assessment: Assessment, findings: Findings, provider: LLMProvider
) -> None:
    base = f"http://127.0.0.1:{closed_port}" + ("/v1" if provider is LLMProvider.openai else "")
    result, _ = narrate(assessment, findings, llm_settings(provider, base), use_llm=True)
    note = _assert_deterministic(result, assessment, SkipReason.connection_refused)
    assert str(closed_port) in note


def test_ollama_missing_model(llm_server: FakeLLMServer, assessment: Assessment, findings: Findings) -> None:
    settings = llm_settings(LLMProvider.ollama, llm_server.ollama_url, llm_model="mistral")
    result, _ = narrate(assessment, findings, settings, use_llm=True)
    note = _assert_deterministic(result, assessment, SkipReason.model_missing)
    assert 'model "mistral" not found, try pulling it first' in note


def test_openai_missing_model(llm_server: FakeLLMServer, assessment: Assessment, findings: Findings) -> None:
    settings = llm_settings(LLMProvider.openai, llm_server.openai_url, llm_model="gpt-99")
    result, _ = narrate(assessment, findings, settings, use_llm=True)
    note = _assert_deterministic(result, assessment, SkipReason.model_missing)
    assert "does not exist" in note


def test_wrong_path_is_an_http_error_not_a_missing_model(
    llm_server: FakeLLMServer, assessment: Assessment, findings: Findings
) -> None:
    # An OpenAI-compatible base URL without its /v1 prefix: the server has no /chat/completions.
    settings = llm_settings(LLMProvider.openai, llm_server.ollama_url)
    result, _ = narrate(assessment, findings, settings, use_llm=True)
    note = _assert_deterministic(result, assessment, SkipReason.http_error)
    assert "404" in note


def _not_json(user: str, schema: dict[str, Any]) -> str:
    return "Sure! Here is the summary: payments are fine."


def _wrong_shape(user: str, schema: dict[str, Any]) -> str:
    return json.dumps({"summary": "just a string", "root_cause": {"text": "x", "cites": []}, "actions": []})


def _empty_text(user: str, schema: dict[str, Any]) -> str:
    answer = json.loads(grounded_answer(user, schema))
    answer["summary"]["text"] = "   "
    return json.dumps(answer)


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("answer", [_not_json, _wrong_shape, _empty_text])
def test_malformed_output(
    llm_server: FakeLLMServer,
    assessment: Assessment,
    findings: Findings,
    provider: LLMProvider,
    answer: Any,
) -> None:
    llm_server.answer = answer
    result, _ = narrate(
        assessment, findings, llm_settings(provider, _url(llm_server, provider)), use_llm=True
    )
    _assert_deterministic(result, assessment, SkipReason.malformed_output)


def _invented_citation(user: str, schema: dict[str, Any]) -> str:
    answer = json.loads(grounded_answer(user, schema))
    answer["root_cause"]["cites"] = ["anm-webhook-403", "anm-does-not-exist"]
    return json.dumps(answer)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_invalid_citations_are_rejected(
    llm_server: FakeLLMServer, assessment: Assessment, findings: Findings, provider: LLMProvider
) -> None:
    llm_server.answer = _invented_citation
    result, _ = narrate(
        assessment, findings, llm_settings(provider, _url(llm_server, provider)), use_llm=True
    )
    note = _assert_deterministic(result, assessment, SkipReason.invalid_citations)
    assert "anm-does-not-exist" in note


def test_uncited_text_is_rejected(
    llm_server: FakeLLMServer, assessment: Assessment, findings: Findings
) -> None:
    def no_cites(user: str, schema: dict[str, Any]) -> str:
        answer = json.loads(grounded_answer(user, schema))
        answer["summary"]["cites"] = []
        return json.dumps(answer)

    llm_server.answer = no_cites
    result, _ = narrate(
        assessment, findings, llm_settings(LLMProvider.ollama, llm_server.ollama_url), use_llm=True
    )
    _assert_deterministic(result, assessment, SkipReason.malformed_output)


def test_invented_action_is_rejected(
    llm_server: FakeLLMServer, assessment: Assessment, findings: Findings
) -> None:
    def extra_action(user: str, schema: dict[str, Any]) -> str:
        answer = json.loads(grounded_answer(user, schema))
        answer["actions"].append(
            {
                "key": "refund_everyone",
                "description": "Refund all customers.",
                "cites": schema_ids(schema)[:1],
            }
        )
        return json.dumps(answer)

    llm_server.answer = extra_action
    result, _ = narrate(
        assessment, findings, llm_settings(LLMProvider.ollama, llm_server.ollama_url), use_llm=True
    )
    _assert_deterministic(result, assessment, SkipReason.unknown_action)


def test_missing_action_descriptions_keep_the_deterministic_ones(
    llm_server: FakeLLMServer, assessment: Assessment, findings: Findings
) -> None:
    def one_action(user: str, schema: dict[str, Any]) -> str:
        answer = json.loads(grounded_answer(user, schema))
        answer["actions"] = answer["actions"][:1]
        return json.dumps(answer)

    llm_server.answer = one_action
    result, _ = narrate(
        assessment, findings, llm_settings(LLMProvider.ollama, llm_server.ollama_url), use_llm=True
    )
    assert result is not None
    assert result.narrative_source == "llm:ollama/llama3.2"
    assert result.actions[0].description == "LLM DESCRIPTION of replay_failed_webhooks."
    assert result.actions[1].description == assessment.actions[1].description


def test_fenced_json_is_accepted(
    llm_server: FakeLLMServer, assessment: Assessment, findings: Findings
) -> None:
    llm_server.answer = lambda user, schema: "```json\n" + grounded_answer(user, schema) + "\n```"
    result, _ = narrate(
        assessment, findings, llm_settings(LLMProvider.ollama, llm_server.ollama_url), use_llm=True
    )
    assert result is not None
    assert result.narrative_source == "llm:ollama/llama3.2"


def test_use_llm_false_makes_no_request(
    llm_server: FakeLLMServer, assessment: Assessment, findings: Findings
) -> None:
    result, note = narrate(
        assessment, findings, llm_settings(LLMProvider.ollama, llm_server.ollama_url), use_llm=False
    )
    assert result is assessment
    assert note is None
    assert llm_server.requests == []


def test_disabled_setting_wins_over_use_llm(
    llm_server: FakeLLMServer, assessment: Assessment, findings: Findings
) -> None:
    settings = llm_settings(LLMProvider.ollama, llm_server.ollama_url, llm_enabled=False)
    result, _ = narrate(assessment, findings, settings, use_llm=True)
    _assert_deterministic(result, assessment, SkipReason.disabled)
    assert llm_server.requests == []


def test_no_assessment_is_not_an_error(llm_server: FakeLLMServer, findings: Findings) -> None:
    result, note = narrate(
        None, findings, llm_settings(LLMProvider.ollama, llm_server.ollama_url), use_llm=True
    )
    assert result is None
    assert note is not None
    assert "nothing to narrate" in note
    assert llm_server.requests == []


def test_nothing_to_cite_skips_without_a_request(llm_server: FakeLLMServer, assessment: Assessment) -> None:
    bare = assessment.model_copy(update={"evidence": ()})
    result, _ = narrate(
        bare, Findings(), llm_settings(LLMProvider.ollama, llm_server.ollama_url), use_llm=True
    )
    _assert_deterministic(result, bare, SkipReason.nothing_to_cite)
    assert llm_server.requests == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_truncated_answer_is_rejected(
    llm_server: FakeLLMServer, assessment: Assessment, findings: Findings, provider: LLMProvider
) -> None:
    llm_server.truncated = True
    result, _ = narrate(
        assessment, findings, llm_settings(provider, _url(llm_server, provider)), use_llm=True
    )
    note = _assert_deterministic(result, assessment, SkipReason.malformed_output)
    assert "cut off" in note


def test_openai_refusal(llm_server: FakeLLMServer, assessment: Assessment, findings: Findings) -> None:
    llm_server.refusal = "I'm sorry, I cannot help with that request."
    result, _ = narrate(
        assessment, findings, llm_settings(LLMProvider.openai, llm_server.openai_url), use_llm=True
    )
    note = _assert_deterministic(result, assessment, SkipReason.refused)
    assert "cannot help" in note
