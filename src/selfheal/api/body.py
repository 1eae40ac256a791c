"""Reading a request body under a size limit (413 past it), without trusting Content-Length alone."""

from __future__ import annotations

from fastapi import Request

from selfheal.errors import InvalidInput, PayloadTooLarge


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError as exc:
            raise InvalidInput("Content-Length is not a number", {"header": "Content-Length"}) from exc
        if size > limit:
            raise PayloadTooLarge(f"body of {size} bytes exceeds the limit of {limit}", {"limit": limit})
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise PayloadTooLarge(f"body exceeds the limit of {limit} bytes", {"limit": limit})
        chunks.append(chunk)
    return b"".join(chunks)
