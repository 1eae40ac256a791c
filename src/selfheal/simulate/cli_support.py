"""Command-line plumbing for the simulator: fault specs from text, and writing or posting the result."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console

from selfheal.settings import Settings
from selfheal.simulate.faults import FAULTS
from selfheal.simulate.model import FaultSpec, SimResult

_FAULT = re.compile(r"^(?P<name>[a-z0-9_]+)@(?P<start>\d+)\+(?P<dur>\d+)(?::(?P<target>.+))?$")


def parse_fault(text: str, begin: datetime) -> FaultSpec:
    """`NAME@START+DURATION[:stage,stage|#merchant,merchant]`, minutes relative to `begin`."""
    match = _FAULT.match(text.strip())
    if not match:
        raise ValueError(f"fault {text!r} is not NAME@START+DURATION[:stages|#merchants]")
    if match["name"] not in FAULTS:
        raise ValueError(f"unknown fault {match['name']!r}; known: {', '.join(sorted(FAULTS))}")
    target = match["target"] or ""
    merchants: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    if target.startswith("#"):
        merchants = tuple(t for t in target[1:].split(",") if t)
    elif target:
        stages = tuple(t for t in target.split(",") if t)
    return FaultSpec(
        name=match["name"],
        start=begin + timedelta(minutes=int(match["start"])),
        duration_minutes=int(match["dur"]),
        stages=stages,
        merchants=merchants,
    )


def ndjson_batches(items: Sequence[Any], size: int) -> Iterator[bytes]:
    for start in range(0, len(items), size):
        yield b"\n".join(
            orjson.dumps(i.model_dump(mode="json", exclude_none=True)) for i in items[start : start + size]
        )


def emit(
    result: SimResult, *, out: Path | None, post: str | None, db: bool, settings: Settings, console: Console
) -> None:
    kinds: tuple[tuple[str, Sequence[Any]], ...] = (
        ("metrics", result.metrics),
        ("logs", result.logs),
        ("tickets", result.tickets),
    )
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for kind, items in kinds:
            with (out / f"{kind}.jsonl").open("wb") as fh:
                for batch in ndjson_batches(items, 10_000):
                    fh.write(batch + b"\n")
        (out / "truth.json").write_bytes(
            orjson.dumps(result.truth.model_dump(mode="json"), option=orjson.OPT_INDENT_2)
        )
        console.print(f"wrote {out}/metrics.jsonl, logs.jsonl, tickets.jsonl, truth.json")
    if post is not None:
        import httpx

        headers = {"content-type": "application/x-ndjson"}
        if settings.api_key:
            headers["x-api-key"] = settings.api_key
        with httpx.Client(base_url=post, timeout=120, headers=headers) as client:
            for kind, items in kinds:
                for batch in ndjson_batches(items, 10_000):
                    client.post(f"/ingest/{kind}", content=batch).raise_for_status()
        console.print(f"posted to {post}")
    if db:
        from selfheal.simulate import load_into
        from selfheal.store import Store

        load_into(Store.open(settings.resolved_database_url()), result)
        console.print(f"stored in {settings.resolved_database_url()}")
    counts = ", ".join(f"{len(items)} {kind}" for kind, items in kinds)
    console.print(f"simulated {counts}; {len(result.truth.faults)} fault(s)")
    for f in result.truth.faults:
        console.print(
            f"  {f.name} ({f.category}) {f.onset:%H:%M}-{f.end:%H:%M} UTC on {len(f.merchants)} merchants: "
            f"{f.lost_orders} lost orders, {f.lost_revenue:,.2f} lost revenue"
        )
