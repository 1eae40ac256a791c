"""The UI's HTTP client for the selfheal API. The UI never touches the database.

Every failure becomes an `ApiError` with a message a person can read and a hint that says how to fix it;
pages show those two lines and never a stack trace.
"""

from __future__ import annotations

from typing import Any

import httpx

from selfheal.settings import Settings


class ApiError(Exception):
    """The API answered with an error, or could not be reached; `hint` says how to fix it."""

    def __init__(self, message: str, hint: str = "", status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.status = status
        self.code = code


class NotAvailable(ApiError):
    """The server has no such endpoint: the capability is not part of this server's version."""


class Unreachable(ApiError):
    """No HTTP answer at all (connection refused, DNS, timeout)."""


_HINTS = {
    401: "Enter a valid API key in the sidebar (or set SELFHEAL_API_KEY); an admin creates one with "
    "`selfheal keys create --role viewer --name you`.",
    403: "Your key's role does not allow this; ask an admin for a key with a higher role.",
    409: "The item changed in the meantime; reload the page to see its current state.",
    413: "The upload is larger than the server accepts (SELFHEAL_MAX_BODY_BYTES).",
    415: "The server does not accept this file type; use Markdown, plain text or PDF.",
    422: "Check the values you entered.",
    500: "The server failed; its log (the terminal running `selfheal api`) says why.",
}


def _route_missing(status: int, code: str, message: str) -> bool:
    """404/405 from the router itself (no such endpoint), as opposed to 'this incident does not exist'."""
    return (status == 404 and message == "Not Found") or status == 405


class ApiClient:
    """A small synchronous client; one per browser session."""

    def __init__(self, base_url: str | None = None, api_key: str | None = None, timeout: float = 120) -> None:
        settings = Settings()
        self.base_url = (base_url or settings.api_url).rstrip("/")
        self.api_key = api_key if api_key is not None else settings.api_key
        headers = {"x-api-key": self.api_key} if self.api_key else {}
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout, headers=headers)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise Unreachable(
                f"The API at {self.base_url} did not answer in time ({exc.__class__.__name__}).",
                "The server may be busy; try again, or check the terminal running `selfheal api`.",
            ) from exc
        except httpx.HTTPError as exc:
            raise Unreachable(
                f"The API at {self.base_url} cannot be reached ({exc.__class__.__name__}).",
                "Start it with `selfheal api` (or `make demo`), or enter the address where it runs in the "
                "sidebar (SELFHEAL_API_URL).",
            ) from exc
        if response.status_code >= 400:
            raise self._error(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise ApiError(
                f"The server at {self.base_url} answered {path} with something that is not JSON.",
                "Check that SELFHEAL_API_URL points at the selfheal API, not another service.",
                response.status_code,
            ) from exc

    def _error(self, response: httpx.Response) -> ApiError:
        status = response.status_code
        try:
            err = response.json().get("error") or {}
        except (ValueError, AttributeError):
            err = {}
        code = str(err.get("code") or "")
        message = str(err.get("message") or response.text[:200] or response.reason_phrase)
        if _route_missing(status, code, message):
            return NotAvailable(
                "This capability is not available on this server.",
                f"The API at {self.base_url} has no {response.request.method} {response.request.url.path}; "
                "upgrade the server to a version that includes it.",
                status,
                code,
            )
        details = err.get("details")
        if isinstance(details, list):
            reasons = [f"{d.get('field')}: {d.get('reason')}" for d in details if isinstance(d, dict)]
            if reasons:
                message = f"{message} ({'; '.join(reasons[:5])})"
        return ApiError(message[:1:].upper() + message[1:], _HINTS.get(status, ""), status, code)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, json: Any = None) -> Any:
        return self.request("POST", path, json=json)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def upload(self, path: str, files: list[tuple[str, bytes, str]]) -> Any:
        """POST files as multipart form field `files` (name, content, content type)."""
        parts = [("files", (name, content, ctype)) for name, content, ctype in files]
        return self.request("POST", path, files=parts)

    def close(self) -> None:
        self._client.close()
