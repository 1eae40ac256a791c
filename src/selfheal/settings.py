"""Every SELFHEAL_* setting in one typed object.

Settings are built once at the edge (CLI, API factory, tests) and passed down; nothing reads the
environment at import time. `selfheal settings` prints the table that README.md shows.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class AuthMode(StrEnum):
    """`closed`: every request needs an API key. `open`: no key needed (demo only)."""

    closed = "closed"
    open = "open"


class LLMProvider(StrEnum):
    """`ollama`: Ollama's native chat API. `openai`: any OpenAI-compatible chat-completions server."""

    ollama = "ollama"
    openai = "openai"


class Settings(BaseSettings):
    """Runtime configuration, read from `SELFHEAL_*` environment variables (or a `.env` file)."""

    model_config = SettingsConfigDict(env_prefix="SELFHEAL_", env_file=".env", extra="ignore", frozen=True)

    # --- storage -------------------------------------------------------------------------------
    data_dir: Path = Field(Path("data"), description="Directory for the embedded database and local files.")
    database_url: SecretStr | None = Field(
        None,
        description="SQLAlchemy URL (secret: it may hold a password); default is SQLite at `<data_dir>/selfheal.db` (WAL mode). "
        "PostgreSQL: `postgresql+psycopg://user@host/db`.",
    )
    raw_log_retention_days: int = Field(
        14,
        ge=1,
        description="Raw log events older than this (before the earlier of a cycle's as_of and now) are "
        "pruned; rollups are kept.",
    )

    # --- API / UI --------------------------------------------------------------------------------
    api_host: str = Field("127.0.0.1", description="Address the API binds to.")
    api_port: int = Field(8000, description="Port the API listens on.")
    ui_port: int = Field(8501, description="Port the Streamlit UI listens on.")
    api_url: str = Field("http://127.0.0.1:8000", description="Base URL the UI and CLI use to reach the API.")
    api_key: SecretStr | None = Field(None, description="API key the UI and CLI send (`X-API-Key`).")
    auth_mode: AuthMode = Field(AuthMode.closed, description="`closed` needs keys; `open` is the demo mode.")
    admin_key: SecretStr | None = Field(
        None, description="Bootstrap admin API key (accepted in closed mode)."
    )
    max_body_bytes: int = Field(64 * 1024 * 1024, description="Largest accepted request body (413 above).")
    max_batch_items: int = Field(100_000, description="Largest number of items in one ingest batch.")

    # --- agent cycle -----------------------------------------------------------------------------
    window_minutes: int = Field(60, ge=1, le=7 * 24 * 60, description="Default observation window.")
    cycle_every: int = Field(
        0,
        ge=0,
        le=86_400,
        description="Seconds between scheduled cycles (`selfheal api`, `selfheal worker`); 0: no scheduler.",
    )
    log_json: bool = Field(
        False, description="`selfheal api` and `selfheal worker` log one JSON object per line."
    )
    cycle_lag_seconds: int = Field(
        30,
        ge=0,
        description="A scheduled cycle for the period ending at T runs at T + this lag, so late signals land.",
    )
    baseline_days: int = Field(7, ge=1, le=60, description="History used for baselines.")
    soft_failure_grace_minutes: int = Field(
        5, ge=0, description="A payment with no order after this many minutes is a soft failure."
    )
    detect_history_days: int = Field(
        28, ge=1, le=60, description="History (days) that anomaly detection compares the window with."
    )
    detect_threshold: float = Field(
        0.5, ge=0, le=1, description="Anomaly score at or above which a finding is reported (0.5 = p 1e-4)."
    )
    currency: str = Field("USD", description="Currency for money figures when metrics give none.")
    decide_min_confidence: float = Field(
        0.5,
        ge=0,
        le=1,
        description="A root cause below this confidence is reported as `unknown` (with the guess as an "
        "alternative).",
    )
    decide_min_lost_orders: float = Field(
        5.0,
        ge=0,
        description="An incident needs at least this many estimated lost orders in the window (and a "
        "90% interval above zero).",
    )
    incident_resolve_cycles: int = Field(
        3,
        ge=1,
        description="Consecutive cycles with normal signals after which an open incident is resolved.",
    )
    outcome_min_minutes: int = Field(
        15,
        ge=1,
        description="Minutes of signals after an action executed before its outcome (worked / partial / no "
        "effect) is judged.",
    )
    dense_embeddings: bool = Field(
        True, description="Use the dense sentence model when the `embed` extra is installed (else lexical)."
    )
    theme_trend_windows: int = Field(
        4,
        ge=1,
        le=48,
        description="Ticket themes are found over this many windows (current + earlier) for trends.",
    )
    theme_memory_days: int = Field(
        7, ge=1, le=365, description="A theme unseen for this long gets a new id when it comes back."
    )
    cluster_method: str = Field(
        "ward",
        pattern="^(ward|dbscan)$",
        description="Ticket clustering method: `ward` (default) or `dbscan`.",
    )

    # --- act: policy and executors ----------------------------------------------------------------
    act_auto_execute_low_risk: bool = Field(
        True, description="Auto-execute low-risk actions whose confidence reaches the threshold."
    )
    act_auto_execute_min_confidence: float = Field(
        0.8, ge=0, le=1, description="Lowest confidence at which a low-risk action runs without approval."
    )
    act_high_risk_approvals: int = Field(
        1, ge=1, le=3, description="Distinct approvers a high-risk action needs (2 = four-eyes rule)."
    )
    act_allow_self_approval: bool = Field(
        False, description="Let the requester of an action approve it (off: the approver must differ)."
    )
    act_executor: Literal["simulated", "webhook", "dry_run"] = Field(
        "simulated", description="Executor for approved actions: `simulated`, `webhook` or `dry_run`."
    )
    act_execution_lease_seconds: int = Field(
        300,
        ge=1,
        description="An execution not finished within this lease counts as stale (resume or mark failed).",
    )
    act_recover_after_seconds: int = Field(
        60,
        ge=0,
        description="A policy-approved action still not executed this long after approval is executed by the "
        "next cycle (its process died between commit and execution).",
    )
    act_webhook_url: str | None = Field(None, description="URL the `webhook` executor POSTs actions to.")
    act_webhook_secret: SecretStr | None = Field(
        None, description="HMAC-SHA256 key for the `X-Selfheal-Signature` header of webhook calls."
    )
    act_webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        [],
        description="Hosts the webhook executor may call (comma-separated or JSON list; `*.example.com` "
        "matches subdomains). Empty: every host is refused.",
    )
    act_webhook_timeout_seconds: float = Field(10.0, gt=0, description="Timeout of one webhook call.")
    act_webhook_retries: int = Field(3, ge=0, le=10, description="Retries after a failed webhook call.")
    act_webhook_backoff_seconds: float = Field(
        0.5, ge=0, description="First retry delay; doubles with each further retry."
    )

    # --- optional LLM narrative ------------------------------------------------------------------
    llm_enabled: bool = Field(
        True, description="Allow cycles run with `use_llm` to ask the LLM for narrative text (master switch)."
    )
    llm_provider: LLMProvider = Field(
        LLMProvider.ollama,
        description="`ollama` (native /api/chat) or `openai` (any OpenAI-compatible server).",
    )
    llm_base_url: str | None = Field(
        None,
        description="Server URL; default `http://127.0.0.1:11434` for ollama, `http://127.0.0.1:8080/v1` for "
        "openai (include the `/v1` prefix).",
    )
    llm_model: str = Field("llama3.2", min_length=1, description="Model name as the server knows it.")
    llm_api_key: SecretStr | None = Field(
        None, description="Bearer key for the openai provider (sent as `Authorization: Bearer ...`)."
    )
    llm_timeout_seconds: float = Field(
        20.0,
        gt=0,
        le=600,
        description="Per-request network timeout; on expiry the deterministic text is kept.",
    )

    # --- runbook knowledge base ------------------------------------------------------------------
    kb_max_file_bytes: int = Field(
        10 * 1024 * 1024, ge=1, description="Largest runbook file accepted by upload (413 above)."
    )
    kb_embed_budget_seconds: float = Field(
        120.0,
        gt=0,
        description="Wall-clock budget of embedding one upload's chunks; past it the upload stops with 422 "
        "(nothing stored) and should be split.",
    )
    kb_pdf_budget_seconds: float = Field(
        20.0,
        gt=0,
        le=600,
        description="CPU seconds reading one PDF's text may take in all; past it the upload stops with 422 "
        "`too_costly` (nothing stored).",
    )
    kb_pdf_page_budget_seconds: float = Field(
        5.0,
        gt=0,
        le=600,
        description="CPU seconds reading one PDF page's text may take; past it the upload stops with 422 "
        "`too_costly` naming the page (nothing stored).",
    )
    kb_chunk_chars: int = Field(
        1200, ge=200, le=20000, description="Upper bound of a runbook chunk in characters."
    )
    kb_dense_weight: float = Field(
        0.5, ge=0, le=1, description="Share of the dense score in hybrid runbook retrieval (rest: BM25F)."
    )
    kb_incident_top: int = Field(5, ge=0, le=50, description="Runbook passages attached to each incident.")

    # --- demo ------------------------------------------------------------------------------------
    demo_merchants: int = Field(50, ge=1, description="Merchants in the demo simulation.")
    demo_speed: float = Field(
        20.0, gt=0, description="Simulated seconds per wall-clock second while catching up."
    )
    demo_seed: int = Field(7, description="Seed of the demo simulation.")
    demo_cycle_minutes: int = Field(5, ge=1, description="Simulated minutes between demo agent cycles.")

    @field_validator("act_webhook_allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        """Accept `a.com,b.com` or a JSON list from the environment."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [h.strip() for h in text.split(",") if h.strip()]
        return value

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to the embedded SQLite file under `data_dir`."""
        if self.database_url:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'selfheal.db').as_posix()}"


def settings_table() -> str:
    """A Markdown table of every setting with its environment variable, default and meaning."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = (
            "(none)" if default is None else f"`{default.value if hasattr(default, 'value') else default}`"
        )
        rows.append(f"| `SELFHEAL_{name.upper()}` | {shown} | {field.description or ''} |")
    return "\n".join(rows)


def secret_value(secret: SecretStr | None) -> str | None:
    """The plain text of an optional secret setting (at the one place that must send or compare it)."""
    return secret.get_secret_value() if secret is not None else None
