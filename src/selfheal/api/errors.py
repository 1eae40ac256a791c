"""Map every error to `{"error": {"code", "message", "details"}}`; bad input is never a 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from selfheal.errors import SelfhealError

log = logging.getLogger("selfheal.api")


def install(app: FastAPI) -> None:
    @app.exception_handler(SelfhealError)
    async def _selfheal(_: Request, exc: SelfhealError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "reason": e.get("msg")}
            for e in exc.errors()
        ]
        body = {"error": {"code": "invalid_input", "message": "request failed validation", "details": errors}}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            {"error": {"code": code, "message": str(exc.detail), "details": None}},
            status_code=exc.status_code,
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse(
            {
                "error": {
                    "code": "internal_error",
                    "message": "internal error; see the server log",
                    "details": None,
                }
            },
            status_code=500,
        )
