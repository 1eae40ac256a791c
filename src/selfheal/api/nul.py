"""No NUL character reaches storage from a URL or a JSON request body: PostgreSQL refuses it in text (a 500
where the caller deserves a 422), SQLite stores it and truncates it in C strings.

A pure ASGI middleware: the path and query string are checked as they arrive; a JSON body of the small
request models is buffered, checked for the `\\u0000` escape and replayed. Ingest bodies are left to
`ingest.screen`, which names the item and field."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SCREENED_ELSEWHERE = ("/ingest/", "/runbooks/upload", "/rag/upload")


def _refuse(where: str) -> tuple[int, bytes]:
    body = {
        "error": {
            "code": "invalid_input",
            "message": f"the {where} holds a NUL character",
            "details": [{"field": where, "reason": "NUL characters are not allowed"}],
        }
    }
    return 422, orjson.dumps(body)


def _url_has_nul(scope: Scope) -> str | None:
    if "\x00" in scope.get("path", ""):
        return "path"
    query: bytes = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        return "query"
    return None


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return b"json" in value.lower()
    return False


class RefuseNul:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = _url_has_nul(scope)
        if where is None and _is_json(scope) and not scope["path"].startswith(SCREENED_ELSEWHERE):
            receive, where = await _buffered(receive)
        if where is not None:
            await _answer(send, *_refuse(where))
            return
        await self.app(scope, receive, send)


async def _buffered(receive: Receive) -> tuple[Receive, str | None]:
    messages: list[Message] = []
    more = True
    while more:
        message = await receive()
        messages.append(message)
        more = message.get("type") == "http.request" and message.get("more_body", False)
    body = b"".join(m.get("body", b"") for m in messages)
    queue = list(messages)

    async def replay() -> Message:
        return queue.pop(0) if queue else await receive()

    return replay, ("body" if b"\\u0000" in body or b"\x00" in body else None)


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
