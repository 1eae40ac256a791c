"""One exception tree. The API maps every `SelfhealError` to `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

from typing import Any


class SelfhealError(Exception):
    """Base of every error the product raises on purpose."""

    status_code: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class InvalidInput(SelfhealError):
    """The request or file is malformed or fails validation."""

    status_code = 422
    code = "invalid_input"


class PayloadTooLarge(SelfhealError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(SelfhealError):
    status_code = 415
    code = "unsupported_media_type"


class NotFound(SelfhealError):
    status_code = 404
    code = "not_found"


class Conflict(SelfhealError):
    """The request is valid but clashes with the current state (an illegal transition, a duplicate)."""

    status_code = 409
    code = "conflict"


class Unauthorized(SelfhealError):
    status_code = 401
    code = "unauthorized"


class Forbidden(SelfhealError):
    status_code = 403
    code = "forbidden"


class NotConfigured(SelfhealError):
    """A feature whose configuration is missing (e.g. a webhook receiver without its signing secret): the
    route answers as if it did not exist."""

    status_code = 404
    code = "not_configured"


class UpstreamError(SelfhealError):
    """A system selfheal reads from (e.g. Prometheus) failed or answered something unusable."""

    status_code = 502
    code = "upstream_error"


class Cancelled(SelfhealError):
    """The work was stopped because its requester went away (an upload whose client disconnected). Nothing
    was stored; no one reads the answer (499 in the access log)."""

    status_code = 499
    code = "cancelled"
