"""`selfheal llm check` against the local fake server (both wire formats), a missing model and a dead port."""

from __future__ import annotations

import json

import pytest
import typer
from narrate_fakes import FakeLLMServer
from typer.testing import CliRunner

from selfheal.cli.llm import register


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PROVIDER", "BASE_URL", "MODEL", "API_KEY", "TIMEOUT_SECONDS", "ENABLED"):
        monkeypatch.delenv(f"SELFHEAL_LLM_{name}", raising=False)


def test_ollama_model_available_from_env(
    cli: typer.Typer, llm_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SELFHEAL_LLM_BASE_URL", llm_server.ollama_url)
    result = CliRunner().invoke(cli, ["llm", "check"])
    assert result.exit_code == 0, result.output
    assert f"ollama at {llm_server.ollama_url}: answers, 2 model(s) listed" in result.output
    assert "llama3.2: available" in result.output
    assert [r.path for r in llm_server.requests] == ["/api/tags"]


def test_ollama_missing_model_suggests_pull(cli: typer.Typer, llm_server: FakeLLMServer) -> None:
    result = CliRunner().invoke(
        cli, ["llm", "check", "--base-url", llm_server.ollama_url, "--model", "mistral"]
    )
    assert result.exit_code == 1
    assert "mistral: MISSING" in result.output
    assert "ollama pull mistral" in result.output


def test_openai_json_output(
    cli: typer.Typer, llm_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_server.api_key = "sk-abc"
    monkeypatch.setenv("SELFHEAL_LLM_API_KEY", "sk-abc")
    result = CliRunner().invoke(
        cli,
        [
            "llm",
            "check",
            "--provider",
            "openai",
            "--base-url",
            llm_server.openai_url,
            "--model",
            "gpt-4o-mini",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True
    assert report["models"] == ["model-id-0", "gpt-4o-mini"]
    assert llm_server.requests[0].path == "/v1/models"
    assert llm_server.requests[0].headers["Authorization"] == "Bearer sk-abc"


def test_openai_wrong_key_is_reported(cli: typer.Typer, llm_server: FakeLLMServer) -> None:
    llm_server.api_key = "sk-right"
    result = CliRunner().invoke(
        cli, ["llm", "check", "--provider", "openai", "--base-url", llm_server.openai_url, "--json"]
    )
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["reachable"] is True
    assert report["model_available"] is False
    assert "401" in report["detail"]


def test_server_down(cli: typer.Typer, closed_port: int) -> None:
    result = CliRunner().invoke(cli, ["llm", "check", "--base-url", f"http://127.0.0.1:{closed_port}"])
    assert result.exit_code == 1
    assert "does not answer" in result.output
    assert "cannot connect" in result.output


def test_openai_wrong_key_text_output(cli: typer.Typer, llm_server: FakeLLMServer) -> None:
    llm_server.api_key = "sk-right"
    result = CliRunner().invoke(
        cli, ["llm", "check", "--provider", "openai", "--base-url", llm_server.openai_url]
    )
    assert result.exit_code == 1
    assert "answers, but did not list its models" in result.output
    assert "MISSING" not in result.output
    assert "Incorrect API key provided" in result.output
