"""Paginated listings: `limit` and a cursor in, the total and the next cursor out (as headers, so the
listings' JSON arrays stay what callers already read).

- `X-Total-Count`: how many items match the filters, on every page.
- `X-Next-Cursor`: pass it back as `cursor` to get the next page; absent on the last page.
- `Link: <...>; rel="next"`: the next page's URL (RFC 8288), with the same filters.

The cursor is opaque to callers (today it encodes the next offset); `offset` stays accepted as before.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Query, Request, Response

from selfheal.api.params import MAX_OFFSET
from selfheal.errors import InvalidInput

PAGE_HEADERS = ("X-Total-Count", "X-Next-Cursor", "Link")
"""Headers a browser client may read (CORS `expose_headers`) and the OpenAPI document declares."""

_PREFIX = "o:"


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The offset a cursor stands for; 422 naming `cursor` when it is not one this API gave out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith(_PREFIX):
            raise ValueError(raw)
        offset = int(raw[len(_PREFIX) :])
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput(
            "cursor is not one this API gave out", [{"field": "cursor", "reason": "unknown cursor"}]
        ) from exc
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput("cursor is out of range", [{"field": "cursor", "reason": "out of range"}])
    return offset


def page_params(default_limit: int, max_limit: int) -> Callable[..., Page]:
    """A dependency reading `limit`, `offset` and `cursor` (the cursor wins over the offset)."""

    def params(
        limit: int = Query(default_limit, ge=1, le=max_limit),
        offset: int = Query(0, ge=0, le=MAX_OFFSET),
        cursor: str | None = Query(
            None, max_length=64, description="`X-Next-Cursor` of the previous page; replaces offset"
        ),
    ) -> Page:
        return Page(limit=limit, offset=decode_cursor(cursor) if cursor else offset)

    return params


def paginate(request: Request, response: Response, page: Page, returned: int, total: int) -> None:
    """Set the total and, while items follow this page, the next cursor and the `Link` to it."""
    response.headers["X-Total-Count"] = str(total)
    following = page.offset + returned
    if returned and following < total:
        cursor = encode_cursor(following)
        response.headers["X-Next-Cursor"] = cursor
        params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("cursor", "offset")]
        url = request.url.replace_query_params(**dict(params), cursor=cursor)
        response.headers["Link"] = f'<{url}>; rel="next"'
