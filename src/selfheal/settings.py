"""Every SELFHEAL_* setting in one typed object.

Settings are built once at the edge (CLI, API factory, tests) and passed down; nothing reads the
environment at import time. `selfheal settings` prints the table that README.md shows.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class AuthMode(StrEnum):
    """`closed`: every request needs an API key. `open`: no key needed (demo only)."""

    closed = "closed"
    open = "open"


class LLMProvider(StrEnum):
    """`ollama`: Ollama's native chat API. `openai`: any OpenAI-compatible chat-completions server."""

    ollama = "ollama"
    openai = "openai"


class NotifyRoute(BaseModel):
    """One notification receiver and what it gets: incidents at or above `min_severity`, touching one of
    `stages` (empty: any stage), for the `events` listed (empty: all of opened, escalated, waiting,
    resolved)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Literal["slack", "pagerduty"]
    url: SecretStr | None = Field(
        None,
        description="Slack: the incoming-webhook URL (required). PagerDuty: the Events API v2 endpoint "
        "(default `SELFHEAL_NOTIFY_PAGERDUTY_URL`).",
    )
    routing_key: SecretStr | None = Field(None, description="PagerDuty integration key (required).")
    min_severity: Literal["low", "medium", "high", "critical"] = "low"
    stages: tuple[str, ...] = ()
    events: tuple[Literal["opened", "escalated", "waiting", "resolved"], ...] = ()

    @model_validator(mode="after")
    def _complete(self) -> NotifyRoute:
        if self.kind == "slack" and self.url is None:
            raise ValueError(f"route {self.name!r}: a slack route needs `url`")
        if self.kind == "pagerduty" and self.routing_key is None:
            raise ValueError(f"route {self.name!r}: a pagerduty route needs `routing_key`")
        return self


def _load_routes(value: Any) -> Any:
    """Routes from a JSON list, or from the path of a JSON or YAML file holding the list (or `routes:`)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text:
        return []
    if not text.startswith("["):
        path = Path(text)
        content = path.read_text()
        loaded = yaml.safe_load(content) if path.suffix in (".yaml", ".yml") else json.loads(content)
        return loaded.get("routes", []) if isinstance(loaded, dict) else loaded
    return json.loads(text)


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
        "pruned; rollups are kept, and so are payment/order pairing events (up to `pairing_retention_days`).",
    )
    pairing_retention_days: int = Field(
        90,
        ge=1,
        description="Payment/order pairing events (the payments and orders with a correlation id, kept when raw "
        "logs are pruned so a window re-read later pairs the same) older than this are deleted by the cycle; at "
        "least `raw_log_retention_days`.",
    )

    # --- API / UI --------------------------------------------------------------------------------
    api_host: str = Field("127.0.0.1", description="Address the API binds to.")
    api_port: int = Field(8000, description="Port the API listens on.")
    ui_port: int = Field(8501, description="Port the Streamlit UI listens on.")
    ui_refresh_seconds: int = Field(
        30,
        ge=2,
        le=3600,
        description="How often the UI's live pages (Overview, Assessment, Actions) refresh by default, in "
        "seconds; the sidebar's *Every* can change it per session.",
    )
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
    window_cache: bool = Field(
        True,
        description="Keep the recent minutes' reads between cycles and redo only those of minutes whose database "
        "fingerprint changed: the window's rollups and metric points (`observe.window_cache`) and the "
        "baselines' and detection history's aggregates of the unsettled hours before it (`observe.history`); "
        "off: every cycle reads the whole window and re-aggregates the unsettled hours.",
    )
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
    detect_stale_minutes: int = Field(
        10,
        ge=1,
        le=1440,
        description="A stage with signals in the window but none in its last this many minutes is stale: "
        "reported as staleness, and its orders are not compared (missing data is not an order collapse).",
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
        description="An incident needs at least this many estimated lost orders since its onset, net over "
        "the merchants in scope (and a 90% interval above zero).",
    )
    incident_resolve_cycles: int = Field(
        3,
        ge=1,
        description="Consecutive cycles with normal signals after which an open incident is resolved.",
    )
    incident_recovery_minutes: int = Field(
        10,
        ge=1,
        le=240,
        description="Minutes of the most recent signals an open incident's loss is judged on: when the orders "
        "lost in these minutes are within noise of the expectation the incident is recovering, and a cycle "
        "counts as normal even while the window still holds the loss from before.",
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
        None,
        description="Standard Webhooks secret (`whsec_<base64 key>`; a plain "
        "string is used as its UTF-8 bytes) that signs webhook calls (`webhook-signature`).",
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

    # --- notifications ------------------------------------------------------------------------------
    notify_routes: Annotated[list[NotifyRoute], NoDecode] = Field(
        [],
        description="Notification receivers (Slack incoming webhooks, PagerDuty Events API v2): a JSON list "
        "or the path of a JSON/YAML file; see docs/connectors.md. Empty: no notifications.",
    )
    notify_ui_url: str = Field(
        "http://127.0.0.1:8501", description="Base URL of the UI that notifications link incidents to."
    )
    notify_pagerduty_url: str = Field(
        "https://events.pagerduty.com/v2/enqueue", description="PagerDuty Events API v2 endpoint."
    )
    notify_timeout_seconds: float = Field(
        5.0, gt=0, le=60, description="Timeout of one notification call (connect, read, write)."
    )
    notify_max_attempts: int = Field(
        8, ge=1, le=50, description="Calls per notification before it is given up (`failed`)."
    )
    notify_max_age_minutes: int = Field(
        60, ge=1, description="A notification not delivered this long after it was queued is given up."
    )
    notify_backoff_seconds: float = Field(
        2.0, gt=0, description="First retry delay; doubles per attempt (full jitter), capped at 5 minutes."
    )
    notify_poll_seconds: float = Field(
        5.0, gt=0, description="How often the delivery worker looks for due notifications between cycles."
    )

    # --- connectors in: commerce webhooks, alerts, metrics (docs/connectors.md) ------------------
    connector_max_body_bytes: int = Field(
        1024 * 1024, ge=1, description="Largest webhook body a connector accepts (413 above)."
    )
    shopify_webhook_secret: SecretStr | None = Field(
        None,
        description="The app's client secret that signs Shopify webhooks (`X-Shopify-Hmac-Sha256`); unset: the "
        "Shopify receiver answers 503.",
    )
    shopify_merchants: dict[str, str] = Field(
        {},
        description="Shop domain -> merchant id (JSON object); a shop not listed keeps its domain as merchant id.",
    )
    shopify_correlation_field: str = Field(
        "note_attributes.payment_intent_id",
        description="Order field that joins a Shopify order with its payment: `note_attributes.NAME`, or a "
        "top-level field such as `checkout_token`, `cart_token`, `id`.",
    )
    stripe_webhook_secret: SecretStr | None = Field(
        None,
        description="The endpoint's signing secret (`whsec_...`) for `Stripe-Signature`; unset: the Stripe "
        "receiver answers 503.",
    )
    stripe_tolerance_seconds: int = Field(
        300, ge=1, description="Largest age (and clock skew) of a Stripe signature's timestamp, in seconds."
    )
    stripe_merchants: dict[str, str] = Field(
        {},
        description="Stripe connected account (`acct_...`, the event's `account`) -> merchant id (JSON object).",
    )
    stripe_default_merchant: str | None = Field(
        None,
        description="Merchant id of events without `account` (a platform's own account); default `stripe`.",
    )
    stripe_correlation_field: str = Field(
        "payment_intent",
        description="What joins a Stripe payment with its order: `payment_intent` (the PaymentIntent id) or "
        "`metadata.KEY`.",
    )
    alertmanager_bearer_token: SecretStr | None = Field(
        None,
        description="Token Alertmanager sends as `Authorization: Bearer` (besides API keys, always accepted).",
    )
    alertmanager_basic_user: str | None = Field(
        None, description="User of the HTTP basic auth Alertmanager sends (with the password below)."
    )
    alertmanager_basic_password: SecretStr | None = Field(
        None, description="Password of the HTTP basic auth Alertmanager sends."
    )
    alert_merchant_label: str = Field(
        "merchant_id", min_length=1, description="Alert label that names the merchant an alert is about."
    )
    alert_stage_label: str = Field(
        "migration_stage", min_length=1, description="Alert label that names the migration stage."
    )
    prometheus_url: str | None = Field(
        None, description="Base URL of the Prometheus server to pull KPI points from (`/api/v1/query_range`)."
    )
    prometheus_config: Path | None = Field(
        None,
        description="JSON or YAML file: the PromQL queries, which KPI each feeds, label -> merchant, step.",
    )
    prometheus_pull_every: int = Field(
        60,
        ge=0,
        description="Seconds between scheduled Prometheus pulls by the scheduler's leader; 0: no scheduled pull.",
    )
    prometheus_lookback_minutes: int = Field(
        60,
        ge=1,
        le=7 * 24 * 60,
        description="How far back a scheduled pull reads (already stored points stay).",
    )
    prometheus_timeout_seconds: float = Field(10.0, gt=0, description="Timeout of one Prometheus query.")

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
    kb_document_share: float = Field(
        0.3,
        ge=0,
        le=1,
        description="In hybrid runbook retrieval, share of each side's score of a chunk taken from that side's "
        "best chunk of the same runbook, so lexical and dense evidence found in different sections of one "
        "runbook add up (0: chunks scored alone).",
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

    @field_validator("notify_routes", mode="before")
    @classmethod
    def _routes(cls, value: Any) -> Any:
        return _load_routes(value)

    @field_validator("notify_routes")
    @classmethod
    def _unique_routes(cls, routes: list[NotifyRoute]) -> list[NotifyRoute]:
        names = [r.name for r in routes]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"route names must be unique; repeated: {', '.join(repeated)}")
        return routes

    @model_validator(mode="after")
    def _pairing_outlives_raw_logs(self) -> Settings:
        if self.pairing_retention_days < self.raw_log_retention_days:
            raise ValueError(
                f"pairing_retention_days ({self.pairing_retention_days}) must be at least raw_log_retention_days "
                f"({self.raw_log_retention_days}): pairing events are kept from the raw events being pruned"
            )
        return self

    def route(self, name: str) -> NotifyRoute | None:
        """The configured route called `name`."""
        return next((r for r in self.notify_routes if r.name == name), None)

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
