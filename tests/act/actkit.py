"""Helpers for the act tests: proposals, incidents, the PostgreSQL test URL."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from selfheal.decide.model import ProposedAction, Risk
from selfheal.records import dt_to_ms, utcnow
from selfheal.store import Store, incidents_repo

PG_URL = os.environ.get("SELFHEAL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def proposal(
    key: str = "replay_failed_webhooks",
    risk: Risk = Risk.medium,
    confidence: float = 0.9,
    requires_approval: bool = False,
    **text: Any,
) -> ProposedAction:
    fields: dict[str, Any] = {
        "title": f"Run {key}",
        "description": "Replay the order.created webhooks that failed",
        "rationale": "payments without orders",
        "expected_effect": "missing orders appear",
        "params": {},
    }
    fields.update(text)
    return ProposedAction(
        key=key, risk=risk, confidence=confidence, requires_approval=requires_approval, **fields
    )


def make_incident(store: Store, category: str = "webhook_delivery") -> str:
    now = dt_to_ms(utcnow())
    with store.transaction() as conn:
        return incidents_repo.insert_incident(
            conn,
            {
                "created_ms": now,
                "updated_ms": now,
                "as_of_ms": now,
                "window_minutes": 60,
                "status": "open",
                "severity": "high",
                "category": category,
                "title": "Paid orders missing",
                "assessment": {"blast_radius": {"stages": ["wave_1"], "merchants": [{"merchant_id": "m-1"}]}},
                "findings": {},
                "observation": {},
                "timeline": [],
            },
        )


Seeder = Callable[..., list[str]]
