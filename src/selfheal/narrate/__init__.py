"""Narrate: an optional LLM layer that rewrites an Assessment's text, never its decisions.

`narrate()` asks the configured server (Ollama or any OpenAI-compatible one) for a summary, a root-cause
explanation and one description per action, as JSON validated against `Narrative` and grounded in the
assessment's evidence and runbook chunk ids. On any failure (timeout, refused connection, missing model,
malformed or ungrounded output) it returns the deterministic assessment with `narrative_note` saying why.
"""

from __future__ import annotations

import logging
import time

from selfheal.decide.model import Assessment
from selfheal.narrate.apply import apply_narrative, decision_view
from selfheal.narrate.errors import NarrativeSkipped, SkipReason
from selfheal.narrate.prompt import Prompt, build_prompt
from selfheal.narrate.providers import (
    ChatProvider,
    ChatRequest,
    ModelCheck,
    OllamaProvider,
    OpenAICompatibleProvider,
    make_provider,
)
from selfheal.narrate.schema import Narrative, check_grounding, parse_narrative
from selfheal.reason.model import Findings
from selfheal.settings import Settings

log = logging.getLogger(__name__)


def _skipped(assessment: Assessment, skip: NarrativeSkipped) -> tuple[Assessment, str]:
    note = skip.note()
    log.warning("%s", note)
    return assessment.model_copy(update={"narrative_source": "deterministic", "narrative_note": note}), note


def narrate(
    assessment: Assessment | None,
    findings: Findings,
    settings: Settings,
    use_llm: bool,
    provider: ChatProvider | None = None,
) -> tuple[Assessment | None, str | None]:
    """The assessment with LLM-written narrative fields, or the deterministic one and why; plus that note.

    Returns `(assessment, None)` untouched when `use_llm` is false or there is no assessment. Never raises
    for a server or model problem: those are the normal ways for this optional layer to be skipped.
    """
    if assessment is None:
        return None, ("no incident in this cycle; nothing to narrate" if use_llm else None)
    if not use_llm:
        return assessment, None
    started = time.perf_counter()
    try:
        if not settings.llm_enabled:
            raise NarrativeSkipped(SkipReason.disabled, "SELFHEAL_LLM_ENABLED is false")
        prompt = build_prompt(assessment, findings)
        if not prompt.citable_ids:
            raise NarrativeSkipped(
                SkipReason.nothing_to_cite, "the assessment has no evidence or runbook ids"
            )
        provider = provider or make_provider(settings)
        content = provider.complete(ChatRequest(prompt.system, prompt.user, prompt.schema))
        narrative = parse_narrative(content)
        check_grounding(narrative, prompt.citable_ids, prompt.action_keys)
        seconds = time.perf_counter() - started
        note = (
            f"Narrative written by {provider.name} model {provider.model} in {seconds:.1f} s, "
            f"citing {len(narrative.cited_ids())} evidence/runbook id(s)."
        )
        narrated = apply_narrative(assessment, narrative, f"llm:{provider.name}/{provider.model}", note)
    except NarrativeSkipped as skip:
        return _skipped(assessment, skip)
    except Exception as exc:  # the optional layer must never break a cycle
        log.exception("narrative layer failed")
        return _skipped(
            assessment, NarrativeSkipped(SkipReason.internal_error, f"{type(exc).__name__}: {exc}")
        )
    return narrated, note


__all__ = [
    "ChatProvider",
    "ChatRequest",
    "ModelCheck",
    "Narrative",
    "NarrativeSkipped",
    "OllamaProvider",
    "OpenAICompatibleProvider",
    "Prompt",
    "SkipReason",
    "apply_narrative",
    "build_prompt",
    "decision_view",
    "make_provider",
    "narrate",
]
