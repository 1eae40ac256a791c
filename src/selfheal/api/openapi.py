"""The OpenAPI document says what the API really answers: every operation lists its error responses (the one
error body, `ErrorBody`) next to its success, so a client (or a schema-driven fuzzer) can rely on it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

BODY_ROUTES = ("/ingest/", "/upload", "/connectors/")
"""Operations that read a raw body: they can answer 413 (too large) and 415 (unsupported type)."""
BODY_OPERATIONS = (("post", "/merchants"),)
"""The same, named by method and exact path."""


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    """Every error the API answers: `{"error": {"code", "message", "details"}}`."""

    error: ErrorDetail


_MEANING = {
    "400": "Malformed request (e.g. a broken multipart body)",
    "401": "No API key, or an unknown or revoked one",
    "403": "The key's role may not do this",
    "404": "No such resource",
    "409": "Conflicts with the current state (an illegal transition, a duplicate)",
    "413": "Body, batch or file past its limit",
    "415": "Unsupported Content-Type",
    "422": "Invalid input: each bad field with its reason",
}


def _error_codes(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    codes = ["404", "422"]
    if operation.get("security"):
        codes += ["401", "403"]
    if method in ("post", "put", "patch", "delete"):
        codes.append("409")
    if any(marker in path for marker in BODY_ROUTES) or (method, path) in BODY_OPERATIONS:
        codes += ["400", "413", "415"]
    if path.startswith("/connectors/") and method == "post":
        codes.append("401")
    return codes


PAGINATED = ("/actions", "/incidents", "/audit")
"""GET listings that send the page headers (`selfheal.api.pagination`)."""

_PAGE_HEADERS = {
    "X-Total-Count": {"description": "Items matching the filters", "schema": {"type": "integer"}},
    "X-Next-Cursor": {
        "description": "Pass as `cursor` for the next page; absent on the last page",
        "schema": {"type": "string"},
    },
    "Link": {"description": 'The next page\'s URL, `rel="next"` (RFC 8288)', "schema": {"type": "string"}},
}


def _declare(document: dict[str, Any]) -> None:
    ref = {"$ref": "#/components/schemas/ErrorBody"}
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")["$defs"])
    body_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    body_schema.pop("$defs", None)
    schemas["ErrorBody"] = body_schema
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            if method == "get" and path in PAGINATED and "200" in responses:
                responses["200"]["headers"] = _PAGE_HEADERS
            for code in _error_codes(path, method, operation):
                responses[code] = {
                    "description": _MEANING[code],
                    "content": {"application/json": {"schema": ref}},
                }


def install(app: FastAPI) -> None:
    """Replace `app.openapi` with one that declares the error responses (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            _declare(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
