"""The structured output the LLM must return, its JSON schema, and the checks that ground it.

The model writes text only: a summary, a root-cause explanation and one description per proposed action,
each citing the evidence or runbook chunk ids it relies on. Anything else in its answer is rejected.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from selfheal.narrate.errors import NarrativeSkipped, SkipReason

MAX_SUMMARY_CHARS = 1500
MAX_EXPLANATION_CHARS = 2000
MAX_ACTION_CHARS = 800
MAX_CITES = 20


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class CitedSummary(_Strict):
    text: str = Field(min_length=1, max_length=MAX_SUMMARY_CHARS)
    cites: tuple[str, ...] = Field(min_length=1, max_length=MAX_CITES)


class CitedExplanation(_Strict):
    text: str = Field(min_length=1, max_length=MAX_EXPLANATION_CHARS)
    cites: tuple[str, ...] = Field(min_length=1, max_length=MAX_CITES)


class ActionDescription(_Strict):
    key: str = Field(min_length=1, description="Key of one proposed action, as given")
    description: str = Field(min_length=1, max_length=MAX_ACTION_CHARS)
    cites: tuple[str, ...] = Field(min_length=1, max_length=MAX_CITES)


class Narrative(_Strict):
    """What the LLM may write. Unknown fields (a category, a risk, an approval flag...) fail validation."""

    summary: CitedSummary
    root_cause: CitedExplanation
    actions: tuple[ActionDescription, ...]

    def cited_ids(self) -> set[str]:
        ids = set(self.summary.cites) | set(self.root_cause.cites)
        for action in self.actions:
            ids.update(action.cites)
        return ids


def narrative_json_schema(citable_ids: Iterable[str], action_keys: Iterable[str]) -> dict[str, Any]:
    """The JSON schema sent to the server (Ollama `format`, OpenAI `response_format.json_schema.schema`).

    Inline (no `$ref`), every property required and no additional properties, so that strict structured
    output modes accept it. Citations and action keys are enumerated: a server that constrains decoding to
    the schema can then only cite ids that exist. The answer is validated again on our side regardless.
    """
    ids = sorted(set(citable_ids))
    keys = sorted(set(action_keys))
    cites: dict[str, Any] = {"type": "array", "items": {"type": "string", "enum": ids}}
    key: dict[str, Any] = {"type": "string", "enum": keys} if keys else {"type": "string"}

    def cited_text(text_field: str) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {text_field: {"type": "string"}, "cites": cites},
            "required": [text_field, "cites"],
            "additionalProperties": False,
        }

    action = cited_text("description")
    action["properties"] = {"key": key, **action["properties"]}
    action["required"] = ["key", "description", "cites"]
    return {
        "type": "object",
        "properties": {
            "summary": cited_text("text"),
            "root_cause": cited_text("text"),
            "actions": {"type": "array", "items": action},
        },
        "required": ["summary", "root_cause", "actions"],
        "additionalProperties": False,
    }


def _strip_code_fence(content: str) -> str:
    text = content.strip()
    if text.startswith("```") and text.endswith("```") and len(text) >= 6:
        text = text[3:-3].strip()
        if text.lower().startswith("json"):
            text = text[4:]
    return text.strip()


def parse_narrative(content: str) -> Narrative:
    """Parse and validate the model's answer; raise `NarrativeSkipped(malformed_output)` if it does not fit."""
    try:
        data = json.loads(_strip_code_fence(content))
    except json.JSONDecodeError as exc:
        raise NarrativeSkipped(
            SkipReason.malformed_output, f"the answer is not JSON ({exc.msg} at char {exc.pos})"
        ) from None
    try:
        return Narrative.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()[:4]
        )
        more = f" (+{exc.error_count() - 4} more)" if exc.error_count() > 4 else ""
        raise NarrativeSkipped(
            SkipReason.malformed_output, f"the answer fails the narrative schema: {problems}{more}"
        ) from None


def check_grounding(narrative: Narrative, citable_ids: frozenset[str], action_keys: tuple[str, ...]) -> None:
    """Every cited id must exist; every described action must be one of the proposed ones, once."""
    unknown = sorted(narrative.cited_ids() - citable_ids)
    if unknown:
        shown = ", ".join(repr(i[:80]) for i in unknown[:5])
        raise NarrativeSkipped(
            SkipReason.invalid_citations,
            f"the answer cites {len(unknown)} id(s) that are not in the evidence or runbook context: {shown}",
        )
    seen: set[str] = set()
    for action in narrative.actions:
        if action.key not in action_keys:
            raise NarrativeSkipped(
                SkipReason.unknown_action,
                f"the answer describes an action that was not proposed: {action.key!r}",
            )
        if action.key in seen:
            raise NarrativeSkipped(
                SkipReason.unknown_action, f"the answer describes action {action.key!r} twice"
            )
        seen.add(action.key)
