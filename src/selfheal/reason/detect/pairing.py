"""Soft failures: payments that succeeded with no `order.created` after a grace period.

A payment whose grace period reaches a minute in which the order webhooks' log records never arrived (a log
shipper or collector outage: `observe.gaps.log_gap_minutes` of `ORDER_EVENT_SOURCE`) is not judged: its
`order.created` may well have been logged in that minute and lost with it. Judging it would count the payments of
the last seconds before every such gap as orders never created, an artefact that grows with the traffic.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from datetime import datetime, timedelta

from selfheal.observe.model import PaymentOrderEvent
from selfheal.reason.model import SoftFailureGap

MAX_EXAMPLES = 5
ORDER_EVENT_SOURCE = "webhook"
"""The log source that carries `order.created` (the commerce connector's order webhooks)."""
MINUTE = timedelta(minutes=1)


def pair_payments(
    events: tuple[PaymentOrderEvent, ...],
    window_start: datetime,
    as_of: datetime,
    grace: timedelta,
    unseen: tuple[datetime, ...] = (),
) -> tuple[SoftFailureGap, ...]:
    """Pair `payment.succeeded` with `order.created` by correlation id.

    Only payments in `[window_start, as_of - grace]` are judged: a younger payment may still get its order.
    Nor is a payment whose grace period reaches one of the `unseen` minutes (minute starts in which the order
    events' records are missing data): its order may have been created there. Returns one gap per (merchant,
    stage) that had judged payments, largest gap first.
    """
    ordered = {e.correlation_id for e in events if e.event == "order.created"}
    cutoff = as_of - grace
    blind = sorted(unseen)
    judged: dict[tuple[str, str], int] = defaultdict(int)
    missing: dict[tuple[str, str], list[PaymentOrderEvent]] = defaultdict(list)
    seen: set[str] = set()
    for e in events:
        if e.event != "payment.succeeded" or e.correlation_id in seen:
            continue
        if e.ts < window_start or e.ts > cutoff or _reaches(blind, e.ts, e.ts + grace):
            continue
        seen.add(e.correlation_id)
        key = (e.merchant_id, e.migration_stage)
        judged[key] += 1
        if e.correlation_id not in ordered:
            missing[key].append(e)
    gaps = []
    for key, n in judged.items():
        miss = missing.get(key, [])
        gaps.append(
            SoftFailureGap(
                merchant_id=key[0],
                migration_stage=key[1],
                payments=n,
                missing_orders=len(miss),
                rate=len(miss) / n,
                example_correlation_ids=tuple(e.correlation_id for e in miss[:MAX_EXAMPLES]),
                first_missing_at=miss[0].ts if miss else None,
            )
        )
    gaps.sort(key=lambda g: (-g.missing_orders, g.merchant_id))
    return tuple(gaps)


def _reaches(minutes: list[datetime], start: datetime, end: datetime) -> bool:
    """Whether `[start, end]` overlaps one of the whole `minutes` (sorted minute starts)."""
    i = bisect.bisect_right(minutes, start - MINUTE)
    return i < len(minutes) and minutes[i] <= end
