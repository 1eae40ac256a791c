"""The UI's HTTP client for the selfheal API. The UI never touches the database."""

from __future__ import annotations

import os
from typing import Any

import httpx


class ApiError(Exception):
    """The API answered with an error, or could not be reached; `hint` says how to fix it."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ApiClient:
    def __init__(self, base_url: str | None = None, api_key: str | None = None, timeout: float = 60) -> None:
        self.base_url = base_url or os.environ.get("SELFHEAL_API_URL", "http://127.0.0.1:8000")
        key = api_key if api_key is not None else os.environ.get("SELFHEAL_API_KEY")
        headers = {"x-api-key": key} if key else {}
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout, headers=headers)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(
                f"The API at {self.base_url} cannot be reached ({exc.__class__.__name__}).",
                "Start it with `selfheal api` (or `make demo`), or set SELFHEAL_API_URL to where it runs.",
            ) from exc
        if response.status_code >= 400:
            try:
                err = response.json().get("error", {})
            except ValueError:
                err = {}
            hint = {
                401: "Set SELFHEAL_API_KEY to a valid key (`selfheal keys create`).",
                403: "Your key's role does not allow this; ask an admin for a key with a higher role.",
            }.get(response.status_code, "")
            raise ApiError(f"{response.status_code}: {err.get('message', response.text[:200])}", hint)
        return response.json() if response.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, json: Any = None) -> Any:
        return self.request("POST", path, json=json)
