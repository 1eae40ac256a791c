"""The typed HTTP client of the selfheal API: `SelfhealClient`, its errors, and signal batching."""

from selfheal.client.api import (
    SIGNAL_KINDS,
    ActionMove,
    IngestCounts,
    JsonObject,
    SelfhealClient,
    SignalKind,
    signal_kind,
)
from selfheal.client.errors import ApiError, NotAvailable, Unreachable

__all__ = [
    "SIGNAL_KINDS",
    "ActionMove",
    "ApiError",
    "IngestCounts",
    "JsonObject",
    "NotAvailable",
    "SelfhealClient",
    "SignalKind",
    "Unreachable",
    "signal_kind",
]
