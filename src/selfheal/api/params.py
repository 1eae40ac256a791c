"""Bounds of query parameters shared by the routers: what a value may be before it reaches storage."""

from __future__ import annotations

MAX_OFFSET = 2**31 - 1
"""The largest page offset: past any real listing, and within every database's integer range."""
