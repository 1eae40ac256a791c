"""Rows as they cross the store boundary: frozen records (`records.Record`), one per kind of stored row that
a caller reads. Timestamps stay epoch milliseconds (`*_ms`) as stored; the stages convert them where they
show them. Status and risk stay the stored strings here (the store imports no stage): `selfheal.act.model`
reads them as `ActionStatus` and `Risk`.

Hot reads are not here: the window's rollups and metric rows and the detection history's hourly totals stay
plain mappings (the observe stage builds its own records from them without validating, see
`store.window_repo` and `store.history_repo`), and ingest writes tuples through the driver.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import ConfigDict, field_validator

from selfheal.records import Record


class StoredApproval(Record):
    """One approval of an action, as kept in its `approvals` column."""

    by: str
    at_ms: int
    comment: str | None = None
    key_id: str | None = None
    """The approving API key; None for the product's own actors and approvals stored before key ids."""


class StoredComment(Record):
    """A comment given with a move on an action (`move` is an `act.states.Transition` value)."""

    by: str
    at_ms: int
    move: str
    text: str


class ActionRecord(Record):
    """One row of `actions`, whole (the workflow needs `claim_token` and the raw times)."""

    id: str
    incident_id: str | None
    key: str
    title: str
    description: str
    rationale: str
    expected_effect: str
    params: dict[str, Any]
    risk: str
    confidence: float
    status: str
    requested_by: str
    required_approvals: int
    approvals: tuple[StoredApproval, ...]
    policy: dict[str, Any]
    auto_execute: bool
    decided_by: str | None
    created_ms: int
    updated_ms: int
    executor: str | None
    executed_by: str | None
    claim_token: str | None
    attempts: int
    started_ms: int | None
    lease_until_ms: int | None
    finished_ms: int | None
    result: dict[str, Any] | None
    error: str | None
    comments: tuple[StoredComment, ...]
    requested_by_key: str | None = None

    @field_validator("params", "policy", mode="before")
    @classmethod
    def _null_as_empty_mapping(cls, value: Any) -> Any:
        return value or {}

    @field_validator("approvals", "comments", mode="before")
    @classmethod
    def _null_as_no_entries(cls, value: Any) -> Any:
        return value or ()

    def changed(self, **values: Any) -> ActionRecord:
        """A copy with `values` set (validated: a typo in a field name or a wrong type fails here)."""
        return ActionRecord.model_validate({**dict(self), **values})

    def columns(self, names: set[str]) -> dict[str, Any]:
        """The named fields as column values (JSON columns as lists and dicts) for an UPDATE."""
        return self.model_dump(mode="json", include=names)


class SimulatorEffectRecord(Record):
    """An effect the simulated executor left for the demo simulator (`consumed_ms` null until applied)."""

    id: int
    action_id: str
    incident_id: str | None
    action_key: str
    category: str | None
    effect: dict[str, Any]
    created_ms: int
    consumed_ms: int | None


class AuditEntry(Record):
    """One record of the hash-chained audit log."""

    seq: int
    ts_ms: int
    actor: str
    action: str
    target_type: str
    target_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    prev_hash: str
    hash: str


class ApiKeyRecord(Record):
    """An API key as listed (the hash of the secret is never read back out of the store)."""

    id: str
    name: str
    role: str
    created_ms: int
    revoked_ms: int | None


class KbDocumentRecord(Record):
    """A stored runbook document (without its chunks)."""

    id: str
    name: str
    title: str
    kind: str
    size_bytes: int
    sha256: str
    pages: int | None
    chunk_count: int
    created_ms: int
    updated_ms: int
    uploaded_by: str


class KbChunkRecord(Record):
    """A chunk with its document's name and title and its stored vector (float32 bytes of `embedding_model`)."""

    id: str
    document_id: str
    name: str
    title: str
    ordinal: int
    text: str
    heading_path: tuple[str, ...]
    page: int | None
    start_char: int
    end_char: int
    embedding: bytes | None
    embedding_model: str | None


class ThemeIdentityRecord(Record):
    """A theme identity as last seen; `centroid` decoded to a float32 vector."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    id: str
    model: str
    label: str
    centroid: npt.NDArray[np.float32] | None
    """None when the theme was found without vectors."""
    members: tuple[str, ...]
    size: int
    first_seen_ms: int
    last_seen_ms: int
