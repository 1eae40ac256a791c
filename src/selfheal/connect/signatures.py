"""Webhook signatures, verified exactly as each sender documents them.

Shopify (shopify.dev/docs/apps/build/webhooks/subscribe/https#step-2-validate-the-origin-of-your-webhook):
`X-Shopify-Hmac-Sha256` is the base64 of HMAC-SHA256 over the raw request body, keyed with the app's client
secret.

Stripe (docs.stripe.com/webhooks#verify-manually): `Stripe-Signature: t=TIMESTAMP,v1=SIG[,v1=SIG...][,v0=...]`;
each `v1` is the hex HMAC-SHA256 of `"{t}.{raw body}"` keyed with the endpoint's signing secret; other schemes
are ignored; the timestamp must be within a tolerance of now (300 s by default, as in Stripe's libraries), so a
captured request cannot be replayed later.

Both compare in constant time, over the raw bytes as received (a re-serialised body would not match).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from selfheal.errors import Unauthorized


def shopify_signature(secret: str, body: bytes) -> str:
    """The `X-Shopify-Hmac-Sha256` value Shopify sends for `body`."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify_shopify(secret: str, body: bytes, header: str | None) -> None:
    """Raise `Unauthorized` unless `header` is Shopify's signature of `body` under `secret`."""
    if not header:
        raise Unauthorized(
            "missing Shopify signature", {"header": "X-Shopify-Hmac-Sha256", "reason": "missing"}
        )
    try:
        given = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Unauthorized(
            "Shopify signature is not base64", {"header": "X-Shopify-Hmac-Sha256", "reason": "malformed"}
        ) from exc
    expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    if not hmac.compare_digest(given, expected):
        raise Unauthorized(
            "Shopify signature does not match the body",
            {"header": "X-Shopify-Hmac-Sha256", "reason": "mismatch"},
        )


def stripe_signature(secret: str, body: bytes, timestamp: int) -> str:
    """A `Stripe-Signature` header value for `body` signed at `timestamp` (what Stripe sends)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_stripe(secret: str, body: bytes, header: str | None, now: float, tolerance_seconds: int) -> int:
    """The signed timestamp, or `Unauthorized` when no `v1` signature matches or the timestamp is outside
    the tolerance."""
    field = {"header": "Stripe-Signature"}
    if not header:
        raise Unauthorized("missing Stripe signature", {**field, "reason": "missing"})
    timestamp, signatures = _stripe_parts(header)
    if timestamp is None:
        raise Unauthorized("Stripe signature has no timestamp", {**field, "reason": "no timestamp"})
    if not signatures:
        raise Unauthorized("Stripe signature has no v1 signature", {**field, "reason": "no v1 signature"})
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected.encode(), s.encode()) for s in signatures):
        raise Unauthorized("Stripe signature does not match the body", {**field, "reason": "mismatch"})
    if abs(now - timestamp) > tolerance_seconds:
        raise Unauthorized(
            f"Stripe signature timestamp is outside the tolerance of {tolerance_seconds} s",
            {**field, "reason": "timestamp outside tolerance", "tolerance_seconds": tolerance_seconds},
        )
    return timestamp


def _stripe_parts(header: str) -> tuple[int | None, list[str]]:
    """The `t` timestamp and the `v1` signatures of a `Stripe-Signature` header (other schemes ignored)."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if key == "t" and sep:
            try:
                timestamp = int(value)
            except ValueError:
                timestamp = None
        elif key == "v1" and sep:
            signatures.append(value)
    return timestamp, signatures
