"""What the schema cannot say cheaply, checked once per batch before storage: no NUL characters in text
(PostgreSQL refuses them) and extra fields that every database can store (finite numbers, integers within 64
bits, no NUL, bounded nesting). Cheap on the hot path: the NUL walk runs only when the body holds one, the
extras walk only for items that carry extra fields."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from selfheal.errors import InvalidInput

MAX_INT64 = 2**63 - 1
MAX_EXTRA_DEPTH = 16
MAX_REPORTED = 50


def body_may_hold_nul(body: bytes) -> bool:
    """True if the body could decode to a string holding U+0000 (raw byte or a JSON/CSV escape)."""
    return b"\x00" in body or b"\\u0000" in body


def _value_problem(value: Any, depth: int = 0) -> str | None:
    if depth > MAX_EXTRA_DEPTH:
        return f"nested deeper than {MAX_EXTRA_DEPTH} levels"
    if isinstance(value, str):
        return "holds a NUL character" if "\x00" in value else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return None if -MAX_INT64 - 1 <= value <= MAX_INT64 else "integer outside the 64-bit range"
    if isinstance(value, float):
        return None if math.isfinite(value) else "not a finite number"
    if isinstance(value, dict):
        return _first_problem([*value.keys(), *value.values()], depth + 1)
    if isinstance(value, list | tuple):
        return _first_problem(value, depth + 1)
    return None


def _first_problem(values: Sequence[Any], depth: int) -> str | None:
    for value in values:
        problem = _value_problem(value, depth)
        if problem:
            return problem
    return None


def _item_problems(item: BaseModel, check_fields: bool) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if check_fields:
        for name in type(item).model_fields:
            problem = _value_problem(getattr(item, name))
            if problem:
                found.append((name, problem))
    for name, value in (item.__pydantic_extra__ or {}).items():
        problem = _value_problem(name) or _value_problem(value)
        if problem:
            found.append((name, problem))
    return found


def screen(kind: str, items: Sequence[BaseModel], body: bytes) -> None:
    """Raise InvalidInput (422, each bad item's index, field and reason) if any item cannot be stored."""
    check_fields = body_may_hold_nul(body)
    errors: list[dict[str, Any]] = []
    bad = 0
    for index, item in enumerate(items):
        if not check_fields and not item.__pydantic_extra__:
            continue
        problems = _item_problems(item, check_fields)
        if problems:
            bad += 1
            errors.extend({"index": index, "field": f, "reason": r} for f, r in problems)
    if errors:
        raise InvalidInput(
            f"{bad} of {len(items)} {kind} cannot be stored; nothing from this batch was stored",
            {
                "invalid_items": bad,
                "errors": errors[:MAX_REPORTED],
                "truncated": len(errors) > MAX_REPORTED,
            },
        )
