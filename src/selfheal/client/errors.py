"""What can go wrong talking to the selfheal API, in words a person can act on.

Every failure of a `SelfhealClient` call is an `ApiError`: a readable `message`, a `hint` that says how to
fix it, the HTTP `status` (None when there was no answer) and the server's error `code`.

`ApiError` is a `SelfhealError`, so the product has one exception tree: a command that already reports
`SelfhealError`s (message, then details) reports API failures the same way, and `except SelfhealError`
catches both local and remote failures. This changes nothing in how the API maps errors: the API never
raises an `ApiError` (it is raised only on the calling side), and its handlers still read `status_code`
and `to_dict()` of whatever they catch. The class-level `status_code` 502 only says what such an error
would mean if it ever crossed an API boundary: the service behind us failed (a bad gateway), not we.
"""

from __future__ import annotations

from typing import Any

import httpx

from selfheal.errors import SelfhealError

_HINTS = {
    401: "Enter a valid API key in the sidebar (or set SELFHEAL_API_KEY); an admin creates one with "
    "`selfheal keys create --role viewer --name you`.",
    403: "Your key's role does not allow this; ask an admin for a key with a higher role.",
    409: "The item changed in the meantime; reload the page to see its current state.",
    413: "The upload is larger than the server accepts (SELFHEAL_MAX_BODY_BYTES).",
    415: "The server does not accept this file type; use Markdown, plain text or PDF.",
    422: "Check the values you entered or sent; the error names each field and what is wrong with it.",
    500: "The server failed; its log (the terminal running `selfheal api`) says why.",
}
"""How to fix each HTTP status, for people reading the UI or a command's output."""

UNREACHABLE_HINT = (
    "Start it with `selfheal api` (or `make demo`), or give the address where it runs: the UI's sidebar, "
    "the command's URL option, or SELFHEAL_API_URL."
)
BUSY_HINT = "The server may be busy; try again, or check the terminal running `selfheal api`."
NOT_READY_HINT = (
    "Check that `selfheal api` started (its terminal says why not) and that SELFHEAL_API_URL points at it."
)


class ApiError(SelfhealError):
    """The API answered with an error, or could not be reached; `hint` says how to fix it."""

    status_code = 502
    code = "api_error"

    def __init__(
        self,
        message: str,
        hint: str = "",
        status: int | None = None,
        code: str = "",
        details: Any = None,
    ) -> None:
        super().__init__(message, details)
        self.hint = hint
        self.status = status
        self.code = code or type(self).code


class NotAvailable(ApiError):
    """The server has no such endpoint: the capability is not part of this server's version."""

    code = "not_available"


class Unreachable(ApiError):
    """No HTTP answer at all (connection refused, DNS, timeout), or the API never became ready."""

    code = "unreachable"


def route_missing(status: int, message: str) -> bool:
    """404/405 from the router itself (no such endpoint), as opposed to 'this incident does not exist'.

    The API's own 404s carry a message naming what is missing; the router's say just "Not Found"."""
    return (status == 404 and message == "Not Found") or status == 405


def error_from_response(base_url: str, response: httpx.Response) -> ApiError:
    """The `ApiError` for an answer with status >= 400, from the API's `{"error": {...}}` body if any."""
    status = response.status_code
    try:
        err = response.json().get("error") or {}
    except (ValueError, AttributeError):
        err = {}
    code = str(err.get("code") or "")
    message = str(err.get("message") or response.text[:200] or response.reason_phrase)
    if route_missing(status, message):
        return NotAvailable(
            "This capability is not available on this server.",
            f"The API at {base_url} has no {response.request.method} {response.request.url.path}; "
            "upgrade the server to a version that includes it.",
            status,
            code,
        )
    details = err.get("details")
    if isinstance(details, list):
        reasons = [f"{d.get('field')}: {d.get('reason')}" for d in details if isinstance(d, dict)]
        if reasons:
            message = f"{message} ({'; '.join(reasons[:5])})"
    return ApiError(message[:1].upper() + message[1:], _HINTS.get(status, ""), status, code, details)


def error_from_transport(base_url: str, exc: httpx.HTTPError) -> Unreachable:
    """The `Unreachable` for a request that got no HTTP answer."""
    if isinstance(exc, httpx.TimeoutException):
        return Unreachable(
            f"The API at {base_url} did not answer in time ({exc.__class__.__name__}).", BUSY_HINT
        )
    return Unreachable(
        f"The API at {base_url} cannot be reached ({exc.__class__.__name__}).", UNREACHABLE_HINT
    )
