"""Helpers for the API tests: an app on a real SQLite file with one key per role."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from selfheal.act import store_actions
from selfheal.auth import Role
from selfheal.decide.model import ProposedAction, Risk
from selfheal.keys import create_key
from selfheal.records import dt_to_ms, utcnow
from selfheal.store import Store, incidents_repo

ADMIN_KEY = "bootstrap-admin-key-for-tests"


@dataclass
class Api:
    client: TestClient
    store: Store
    keys: dict[Role, str] = field(default_factory=dict)

    def as_(self, role: Role | None) -> dict[str, str]:
        """Headers for a caller with `role` (None: no key)."""
        return {} if role is None else {"X-API-Key": self.keys[role]}


def make_keys(store: Store) -> dict[Role, str]:
    """One key per role; the key of role R belongs to a person called R (`viewer`, `approver`, ...)."""
    return {role: create_key(store, _holder(role), role, "test").key for role in Role}


def _holder(role: Role) -> str:
    # `admin` is the bootstrap key's name, reserved: the admin-role key belongs to `admin-person`.
    return "admin-person" if role is Role.admin else role.value


def seed_actions(
    store: Store, *specs: tuple[str, Risk], actor: str = "cycle", settings: Any = None
) -> tuple[str, list[str]]:
    from selfheal import audit
    from selfheal.settings import Settings

    now = dt_to_ms(utcnow())
    with store.transaction() as conn:
        incident_id = incidents_repo.insert_incident(
            conn,
            {
                "created_ms": now,
                "updated_ms": now,
                "as_of_ms": now,
                "window_minutes": 60,
                "status": "open",
                "severity": "high",
                "category": "webhook_delivery",
                "title": "Paid orders missing",
                "assessment": {},
                "findings": {},
                "observation": {},
                "timeline": [],
            },
        )
        audit.record(conn, actor=actor, action="incident.open", target_type="incident", target_id=incident_id)
        proposals = tuple(
            ProposedAction(
                key=key,
                title=f"Run {key}",
                description="d",
                risk=risk,
                confidence=0.9,
                requires_approval=False,
                rationale="r",
                expected_effect="e",
            )
            for key, risk in specs
        )
        outcomes = store_actions(conn, incident_id, proposals, actor, settings or Settings())
    return incident_id, [o.action_id for o in outcomes]
