"""`selfheal llm ...`: commands for the optional LLM narrative layer."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from selfheal.settings import LLMProvider, Settings


def _settings(
    provider: LLMProvider | None, base_url: str | None, model: str | None, timeout: float | None
) -> Settings:
    settings = Settings()
    overrides = {
        "llm_provider": provider,
        "llm_base_url": base_url,
        "llm_model": model,
        "llm_timeout_seconds": timeout,
    }
    return settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})


def check(
    provider: Annotated[
        LLMProvider | None, typer.Option(help="Override SELFHEAL_LLM_PROVIDER (ollama or openai).")
    ] = None,
    base_url: Annotated[str | None, typer.Option(help="Override SELFHEAL_LLM_BASE_URL.")] = None,
    model: Annotated[str | None, typer.Option(help="Override SELFHEAL_LLM_MODEL.")] = None,
    timeout: Annotated[
        float | None, typer.Option(min=0.1, help="Override SELFHEAL_LLM_TIMEOUT_SECONDS.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Say whether the configured LLM server answers and has the model. Exit 0 if both, else 1."""
    from selfheal.narrate.providers import make_provider

    settings = _settings(provider, base_url, model, timeout)
    result = make_provider(settings).check()
    if as_json:
        typer.echo(json.dumps({**asdict(result), "ok": result.ok}, indent=2))
    else:
        if not result.reachable:
            answers = "does not answer"
        elif result.listed:
            answers = f"answers, {len(result.models)} model(s) listed"
        else:
            answers = "answers, but did not list its models"
        typer.echo(f"server: {result.provider} at {result.base_url}: {answers}")
        if result.listed:
            state = "available" if result.model_available else "MISSING"
            typer.echo(f"model:  {result.model}: {state}")
        typer.echo(f"detail: {result.detail}")
        if result.listed and not result.model_available and result.provider == LLMProvider.ollama:
            typer.echo(f"hint:   ollama pull {result.model}")
        if settings.llm_enabled is False:
            typer.echo("note:   SELFHEAL_LLM_ENABLED is false: cycles will not call the LLM")
    raise typer.Exit(0 if result.ok else 1)


def register(app: typer.Typer) -> None:
    """Add the `llm` command group to the main CLI."""
    group = typer.Typer(help="Optional LLM narrative (Ollama or OpenAI-compatible).", no_args_is_help=True)
    group.command("check")(check)
    app.add_typer(group, name="llm")
