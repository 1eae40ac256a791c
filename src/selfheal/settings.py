"""Every SELFHEAL_* setting in one typed object.

Settings are built once at the edge (CLI, API factory, tests) and passed down; nothing reads the
environment at import time. `selfheal settings` prints the table that README.md shows.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AuthMode(StrEnum):
    """`closed`: every request needs an API key. `open`: no key needed (demo only)."""

    closed = "closed"
    open = "open"


class Settings(BaseSettings):
    """Runtime configuration, read from `SELFHEAL_*` environment variables (or a `.env` file)."""

    model_config = SettingsConfigDict(env_prefix="SELFHEAL_", env_file=".env", extra="ignore", frozen=True)

    # --- storage -------------------------------------------------------------------------------
    data_dir: Path = Field(Path("data"), description="Directory for the embedded database and local files.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; default is SQLite at `<data_dir>/selfheal.db` (WAL mode). "
        "PostgreSQL: `postgresql+psycopg://user@host/db`.",
    )
    raw_log_retention_days: int = Field(14, ge=1, description="Raw log events older than this are pruned.")

    # --- API / UI --------------------------------------------------------------------------------
    api_host: str = Field("127.0.0.1", description="Address the API binds to.")
    api_port: int = Field(8000, description="Port the API listens on.")
    ui_port: int = Field(8501, description="Port the Streamlit UI listens on.")
    api_url: str = Field("http://127.0.0.1:8000", description="Base URL the UI and CLI use to reach the API.")
    api_key: str | None = Field(None, description="API key the UI and CLI send (`X-API-Key`).")
    auth_mode: AuthMode = Field(AuthMode.closed, description="`closed` needs keys; `open` is the demo mode.")
    admin_key: str | None = Field(None, description="Bootstrap admin API key (accepted in closed mode).")
    max_body_bytes: int = Field(64 * 1024 * 1024, description="Largest accepted request body (413 above).")
    max_batch_items: int = Field(100_000, description="Largest number of items in one ingest batch.")

    # --- agent cycle -----------------------------------------------------------------------------
    window_minutes: int = Field(60, ge=1, le=7 * 24 * 60, description="Default observation window.")
    baseline_days: int = Field(7, ge=1, le=60, description="History used for baselines.")
    soft_failure_grace_minutes: int = Field(
        5, ge=0, description="A payment with no order after this many minutes is a soft failure."
    )
    currency: str = Field("USD", description="Currency for money figures when metrics give none.")
    dense_embeddings: bool = Field(
        True, description="Use the dense sentence model when the `embed` extra is installed (else lexical)."
    )

    # --- runbook knowledge base ------------------------------------------------------------------
    kb_max_file_bytes: int = Field(
        10 * 1024 * 1024, ge=1, description="Largest runbook file accepted by upload (413 above)."
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

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to the embedded SQLite file under `data_dir`."""
        if self.database_url:
            return self.database_url
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
