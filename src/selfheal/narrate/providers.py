"""Chat providers over HTTP: Ollama's native API and any OpenAI-compatible chat-completions server.

Both turn every transport or protocol failure into `NarrativeSkipped` with a reason, so a caller never
sees an httpx exception. Wire formats:

- Ollama: `POST /api/chat` with `{"model", "messages", "stream": false, "format": <JSON schema>,
  "options"}`; the answer is `message.content`. `GET /api/tags` lists local models (`models[].name`).
  A model that is not pulled answers 404 `{"error": "model \\"x\\" not found, try pulling it first"}`.
- OpenAI-compatible: `POST {base}/chat/completions` with `{"model", "messages", "temperature",
  "response_format": {"type": "json_schema", "json_schema": {"name", "strict", "schema"}}}`; the answer is
  `choices[0].message.content`. `GET {base}/models` lists `data[].id`. Errors are
  `{"error": {"message", "type", "code"}}`; a missing model is 404 with code `model_not_found`.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import httpx

from selfheal.narrate.errors import NarrativeSkipped, SkipReason
from selfheal.settings import LLMProvider, Settings

OLLAMA_DEFAULT_URL = "http://127.0.0.1:11434"
OLLAMA_MAX_ANSWER_TOKENS = 1024
CHARS_PER_TOKEN = 3  # a cautious estimate for English and JSON
OPENAI_DEFAULT_URL = "http://127.0.0.1:8080/v1"
SCHEMA_NAME = "incident_narrative"
MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class ChatRequest:
    system: str
    user: str
    schema: dict[str, Any]


@dataclass(frozen=True)
class ModelCheck:
    """What `selfheal llm check` reports."""

    provider: str
    base_url: str
    model: str
    reachable: bool
    model_available: bool
    models: tuple[str, ...]
    detail: str
    listed: bool = True

    @property
    def ok(self) -> bool:
        return self.reachable and self.model_available


def _error_text(response: httpx.Response) -> str:
    """The server's own error message (Ollama `{"error": str}`, OpenAI `{"error": {"message"}}`), clipped."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:MAX_ERROR_CHARS].strip()
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        error = error.get("message") or error.get("code")
    return str(error if error is not None else body)[:MAX_ERROR_CHARS]


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("code") is not None:
        return str(error["code"])
    return None


class ChatProvider(ABC):
    """One configured server and model."""

    name: str

    def __init__(self, base_url: str, model: str, timeout_seconds: float, api_key: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout_seconds = timeout_seconds
        self.api_key = api_key

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        url = f"{self.base_url}{path}"
        try:
            with httpx.Client(timeout=httpx.Timeout(self.timeout_seconds), headers=self._headers()) as client:
                return client.request(method, url, json=body)
        except httpx.TimeoutException:
            raise NarrativeSkipped(
                SkipReason.timeout,
                f"{self.name} at {self.base_url} did not answer within {self.timeout_seconds:g} s",
            ) from None
        except httpx.ConnectError as exc:
            raise NarrativeSkipped(
                SkipReason.connection_refused, f"cannot connect to {self.name} at {self.base_url} ({exc})"
            ) from None
        except httpx.HTTPError as exc:
            raise NarrativeSkipped(
                SkipReason.unreachable, f"{self.name} at {self.base_url}: {type(exc).__name__}: {exc}"
            ) from None

    def _raise_for_status(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        text = _error_text(response)
        status = response.status_code
        if status == 404 and self._is_missing_model(response, text):
            raise NarrativeSkipped(
                SkipReason.model_missing, f"model {self.model!r} is not available on {self.name}: {text}"
            )
        if status in (401, 403):
            raise NarrativeSkipped(SkipReason.unauthorized, f"{self.name} answered {status}: {text}")
        raise NarrativeSkipped(
            SkipReason.http_error, f"{self.name} answered {status} for {response.request.url.path}: {text}"
        )

    def _model_names(self, path: str, list_key: str, name_key: str) -> tuple[str, ...]:
        """The model names a server lists at `path`: `{list_key: [{name_key: ...}, ...]}`."""
        response = self._request("GET", path)
        self._raise_for_status(response)
        entries = self._json(response).get(list_key)
        if not isinstance(entries, list):
            raise NarrativeSkipped(SkipReason.bad_response, f"the {path} answer has no {list_key} list")
        return tuple(str(e[name_key]) for e in entries if isinstance(e, dict) and name_key in e)

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise NarrativeSkipped(SkipReason.bad_response, "the server's answer is not JSON") from None
        if not isinstance(body, dict):
            raise NarrativeSkipped(SkipReason.bad_response, "the server's answer is not a JSON object")
        return body

    @abstractmethod
    def _is_missing_model(self, response: httpx.Response, text: str) -> bool: ...

    @abstractmethod
    def complete(self, request: ChatRequest) -> str:
        """The assistant's message content (expected to be JSON matching `request.schema`)."""

    @abstractmethod
    def list_models(self) -> tuple[str, ...]:
        """Model names the server offers."""

    @abstractmethod
    def has_model(self, models: tuple[str, ...]) -> bool: ...

    def check(self) -> ModelCheck:
        """Does the server answer, and does it have the configured model?"""
        try:
            models = self.list_models()
        except NarrativeSkipped as skip:
            answered = skip.reason in (
                SkipReason.unauthorized,
                SkipReason.http_error,
                SkipReason.bad_response,
            )
            return ModelCheck(
                self.name, self.base_url, self.model, answered, False, (), skip.message, listed=False
            )
        available = self.has_model(models)
        detail = (
            f"model {self.model!r} is available"
            if available
            else f"model {self.model!r} is not among the {len(models)} model(s) the server lists"
        )
        return ModelCheck(self.name, self.base_url, self.model, True, available, models, detail)


def ollama_context_tokens(request: ChatRequest) -> int:
    """A context window that fits the prompt and the answer.

    Ollama's default window (2048 or 4096 tokens, by version) silently drops the start of a longer prompt,
    which is where the instructions are. Rounded up to a multiple of 1024, between 4096 and 32768.
    """
    prompt_chars = len(request.system) + len(request.user) + len(json.dumps(request.schema))
    needed = prompt_chars // CHARS_PER_TOKEN + OLLAMA_MAX_ANSWER_TOKENS
    return min(32768, max(4096, -(-needed // 1024) * 1024))


class OllamaProvider(ChatProvider):
    """Ollama's native API (`/api/chat`, `/api/tags`) with JSON-schema structured output in `format`."""

    name = "ollama"

    def _is_missing_model(self, response: httpx.Response, text: str) -> bool:
        return "not found" in text and "model" in text

    def complete(self, request: ChatRequest) -> str:
        body = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": request.user},
            ],
            "stream": False,
            "format": request.schema,
            "options": {
                "temperature": 0,
                "num_ctx": ollama_context_tokens(request),
                "num_predict": OLLAMA_MAX_ANSWER_TOKENS,
            },
        }
        response = self._request("POST", "/api/chat", body)
        self._raise_for_status(response)
        data = self._json(response)
        message = data.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str):
            raise NarrativeSkipped(SkipReason.bad_response, "the /api/chat answer has no message.content")
        if data.get("done_reason") == "length":
            raise NarrativeSkipped(SkipReason.malformed_output, "the answer was cut off (done_reason=length)")
        return content

    def list_models(self) -> tuple[str, ...]:
        return self._model_names("/api/tags", "models", "name")

    def has_model(self, models: tuple[str, ...]) -> bool:
        wanted = {self.model} if ":" in self.model else {self.model, f"{self.model}:latest"}
        return bool(wanted & set(models))


class OpenAICompatibleProvider(ChatProvider):
    """An OpenAI-compatible server (`/chat/completions`, `/models`) with `response_format: json_schema`."""

    name = "openai"

    def _is_missing_model(self, response: httpx.Response, text: str) -> bool:
        return _error_code(response) == "model_not_found" or (
            "model" in text.lower() and ("not exist" in text or "not found" in text)
        )

    def complete(self, request: ChatRequest) -> str:
        body = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": request.user},
            ],
            "temperature": 0,
            "stream": False,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": request.schema},
            },
        }
        response = self._request("POST", "/chat/completions", body)
        self._raise_for_status(response)
        data = self._json(response)
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise NarrativeSkipped(SkipReason.bad_response, "the chat completion has no choices")
        choice = choices[0]
        message = choice.get("message")
        if not isinstance(message, dict):
            raise NarrativeSkipped(SkipReason.bad_response, "the chat completion has no message")
        if message.get("refusal"):
            raise NarrativeSkipped(SkipReason.refused, f"the model refused: {str(message['refusal'])[:200]}")
        if choice.get("finish_reason") == "length":
            raise NarrativeSkipped(
                SkipReason.malformed_output, "the answer was cut off (finish_reason=length)"
            )
        content = message.get("content")
        if not isinstance(content, str):
            raise NarrativeSkipped(SkipReason.bad_response, "the chat completion message has no content")
        return content

    def list_models(self) -> tuple[str, ...]:
        return self._model_names("/models", "data", "id")

    def has_model(self, models: tuple[str, ...]) -> bool:
        return self.model in models


def make_provider(settings: Settings) -> ChatProvider:
    """The provider the settings describe."""
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    if settings.llm_provider is LLMProvider.openai:
        return OpenAICompatibleProvider(
            settings.llm_base_url or OPENAI_DEFAULT_URL, settings.llm_model, settings.llm_timeout_seconds, key
        )
    return OllamaProvider(
        settings.llm_base_url or OLLAMA_DEFAULT_URL, settings.llm_model, settings.llm_timeout_seconds, key
    )
