"""The merchant directory: upserts that keep the stage history, listings, and stage look-ups by time.

A stage change never overwrites history: it appends a `merchant_stages` row with the moment of the move, and
the merchant's current stage is the stage of its latest move. So `stage_at(merchant, as_of)` answers for any
moment, and a cycle replayed for last week sees last week's stages.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select, union

from selfheal.records import Record, dt_to_ms
from selfheal.signals import MerchantEntry
from selfheal.store.directory_tables import MerchantRow, MerchantStageRow
from selfheal.store.tables import LogRollupRow, MetricPointRow, TicketRow, table

_CHUNK = 500
BEGINNING_MS = 0
"""The move time of a merchant's first stage when the import gives none: it counts from the beginning."""


class MerchantRecord(Record):
    id: str
    name: str
    stage: str
    moved_ms: int
    plan: str | None
    currency: str | None
    labels: dict[str, str]
    created_ms: int
    updated_ms: int


class StageMove(Record):
    stage: str
    moved_ms: int
    recorded_ms: int


class UpsertCounts(Record):
    received: int
    created: int
    updated: int
    unchanged: int
    stage_moves: int


def _record(row: Any) -> MerchantRecord:
    return MerchantRecord(
        id=row.id,
        name=row.name,
        stage=row.stage,
        moved_ms=row.moved_ms,
        plan=row.plan,
        currency=row.currency,
        labels=dict(row.labels or {}),
        created_ms=row.created_ms,
        updated_ms=row.updated_ms,
    )


def _existing(conn: Connection, ids: Sequence[str]) -> dict[str, MerchantRecord]:
    m = table(MerchantRow)
    found: dict[str, MerchantRecord] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        # Locked (PostgreSQL) so concurrent imports of the same merchant apply one after the other.
        for row in conn.execute(select(m).where(m.c.id.in_(chunk)).order_by(m.c.id).with_for_update()):
            found[row.id] = _record(row)
    return found


def _moves(conn: Connection, merchant_id: str) -> dict[int, str]:
    s = table(MerchantStageRow)
    rows = conn.execute(select(s.c.moved_ms, s.c.stage).where(s.c.merchant_id == merchant_id))
    return {int(r.moved_ms): r.stage for r in rows}


def upsert_merchants(conn: Connection, entries: Sequence[MerchantEntry], now_ms: int) -> UpsertCounts:
    """Create or update each merchant (ids must be unique in `entries`); a changed stage appends a move.

    A move at the same moment as a stored one corrects that move's stage. A move older than the latest one
    is history being filled in: it is kept, and the current stage stays the latest move's.
    """
    m, s = table(MerchantRow), table(MerchantStageRow)
    existing = _existing(conn, sorted(e.id for e in entries))
    created = updated = unchanged = moves = 0
    for e in sorted(entries, key=lambda x: x.id):
        old = existing.get(e.id)
        labels = dict(e.labels)
        if old is None:
            moved = dt_to_ms(e.moved_at) if e.moved_at is not None else BEGINNING_MS
            conn.execute(
                m.insert().values(
                    id=e.id,
                    name=e.name,
                    stage=e.stage,
                    moved_ms=moved,
                    plan=e.plan,
                    currency=e.currency,
                    labels=labels,
                    created_ms=now_ms,
                    updated_ms=now_ms,
                )
            )
            conn.execute(
                s.insert().values(merchant_id=e.id, stage=e.stage, moved_ms=moved, recorded_ms=now_ms)
            )
            created += 1
            moves += 1
            continue
        history = _moves(conn, e.id)
        moved_at = dt_to_ms(e.moved_at) if e.moved_at is not None else None
        stage_changes = (moved_at is None and e.stage != old.stage) or (
            moved_at is not None
            and history.get(moved_at) != e.stage
            and _stage_before(history, moved_at) != e.stage
        )
        if stage_changes:
            at = moved_at if moved_at is not None else now_ms
            if at in history:
                conn.execute(
                    s.update()
                    .where(s.c.merchant_id == e.id, s.c.moved_ms == at)
                    .values(stage=e.stage, recorded_ms=now_ms)
                )
            else:
                conn.execute(
                    s.insert().values(merchant_id=e.id, stage=e.stage, moved_ms=at, recorded_ms=now_ms)
                )
            history[at] = e.stage
            moves += 1
        latest_ms = max(history)
        current = (history[latest_ms], latest_ms)
        fields = (e.name, current[0], current[1], e.plan, e.currency, labels)
        if fields == (old.name, old.stage, old.moved_ms, old.plan, old.currency, old.labels):
            unchanged += 1
            continue
        conn.execute(
            m.update()
            .where(m.c.id == e.id)
            .values(
                name=e.name,
                stage=current[0],
                moved_ms=current[1],
                plan=e.plan,
                currency=e.currency,
                labels=labels,
                updated_ms=now_ms,
            )
        )
        updated += 1
    return UpsertCounts(
        received=len(entries), created=created, updated=updated, unchanged=unchanged, stage_moves=moves
    )


def _stage_before(history: dict[int, str], at_ms: int) -> str | None:
    """The stage in force at `at_ms` according to `history` (None: before the first move)."""
    earlier = [ms for ms in history if ms <= at_ms]
    return history[max(earlier)] if earlier else None


def list_merchants(
    conn: Connection, limit: int, offset: int, stage: str | None = None
) -> list[MerchantRecord]:
    m = table(MerchantRow)
    query = select(m).order_by(m.c.id).limit(limit).offset(offset)
    if stage is not None:
        query = query.where(m.c.stage == stage)
    return [_record(r) for r in conn.execute(query)]


def count_merchants(conn: Connection, stage: str | None = None) -> int:
    m = table(MerchantRow)
    query = select(func.count()).select_from(m)
    if stage is not None:
        query = query.where(m.c.stage == stage)
    return int(conn.execute(query).scalar_one())


def get_merchant(conn: Connection, merchant_id: str) -> MerchantRecord | None:
    m = table(MerchantRow)
    row = conn.execute(select(m).where(m.c.id == merchant_id)).first()
    return None if row is None else _record(row)


def stage_history(conn: Connection, merchant_id: str) -> list[StageMove]:
    """The merchant's moves, oldest first."""
    s = table(MerchantStageRow)
    rows = conn.execute(
        select(s.c.stage, s.c.moved_ms, s.c.recorded_ms)
        .where(s.c.merchant_id == merchant_id)
        .order_by(s.c.moved_ms)
    )
    return [StageMove(stage=r.stage, moved_ms=r.moved_ms, recorded_ms=r.recorded_ms) for r in rows]


def directory_size(conn: Connection) -> int:
    m = table(MerchantRow)
    return int(conn.execute(select(func.count()).select_from(m)).scalar_one())


def has_directory(conn: Connection) -> bool:
    """Whether any merchant is loaded (one indexed row read, cheap on the ingest path)."""
    m = table(MerchantRow)
    return conn.execute(select(m.c.id).limit(1)).first() is not None


def known_ids(conn: Connection, ids: Iterable[str]) -> set[str]:
    """Which of `ids` are in the directory."""
    m = table(MerchantRow)
    wanted = sorted(set(ids))
    found: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        found.update(conn.execute(select(m.c.id).where(m.c.id.in_(wanted[start : start + _CHUNK]))).scalars())
    return found


@dataclass(frozen=True)
class StageTimeline:
    """Every merchant's moves up to a moment, for answering `stage_at` per signal without a query each.

    Empty when no directory is loaded (`loaded` is False): then every answer is None."""

    moves: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = field(default_factory=dict)
    merchants: frozenset[str] = frozenset()

    @property
    def loaded(self) -> bool:
        return bool(self.merchants)

    def stage_at(self, merchant_id: str, at_ms: int) -> str | None:
        """The merchant's stage at `at_ms` (its latest move at or before it); None before its first known move
        or for a merchant not in the directory."""
        entry = self.moves.get(merchant_id)
        if entry is None:
            return None
        times, stages = entry
        i = bisect.bisect_right(times, at_ms)
        return stages[i - 1] if i else None


def stage_timeline(conn: Connection, until_ms: int) -> StageTimeline:
    """The directory's moves made at or before `until_ms` (later moves do not exist yet for a replay)."""
    s, m = table(MerchantStageRow), table(MerchantRow)
    merchants = frozenset(conn.execute(select(m.c.id)).scalars())
    if not merchants:
        return StageTimeline()
    acc: dict[str, tuple[list[int], list[str]]] = {}
    rows = conn.execute(
        select(s.c.merchant_id, s.c.moved_ms, s.c.stage)
        .where(s.c.moved_ms <= until_ms)
        .order_by(s.c.merchant_id, s.c.moved_ms)
    )
    for r in rows:
        times, stages = acc.setdefault(r.merchant_id, ([], []))
        times.append(int(r.moved_ms))
        stages.append(r.stage)
    return StageTimeline({k: (tuple(t), tuple(st)) for k, (t, st) in acc.items()}, merchants)


def stage_at(conn: Connection, merchant_id: str, at_ms: int) -> str | None:
    """One merchant's stage at `at_ms` from the directory (None: not in it, or before its first move)."""
    s = table(MerchantStageRow)
    row = conn.execute(
        select(s.c.stage)
        .where(s.c.merchant_id == merchant_id, s.c.moved_ms <= at_ms)
        .order_by(s.c.moved_ms.desc())
        .limit(1)
    ).first()
    return None if row is None else str(row.stage)


def unknown_merchants(conn: Connection, start_ms: int, end_ms: int, limit: int) -> list[dict[str, Any]]:
    """Merchants with signals in `[start_ms, end_ms)` that the directory does not list, with their signal counts
    (tickets, log events from the rollups, metric points); empty when no directory is loaded."""
    if not has_directory(conn):
        return []
    t, r, mp, m = table(TicketRow), table(LogRollupRow), table(MetricPointRow), table(MerchantRow)
    seen = union(
        select(t.c.merchant_id).where(t.c.created_ms >= start_ms, t.c.created_ms < end_ms),
        select(r.c.merchant_id).where(r.c.minute_ms >= start_ms, r.c.minute_ms < end_ms),
        select(mp.c.merchant_id).where(mp.c.ts_ms >= start_ms, mp.c.ts_ms < end_ms),
    ).subquery()
    ids = [
        row[0]
        for row in conn.execute(
            select(seen.c.merchant_id)
            .where(seen.c.merchant_id.not_in(select(m.c.id)))
            .order_by(seen.c.merchant_id)
            .limit(limit)
        )
    ]
    if not ids:
        return []
    counts: dict[str, dict[str, Any]] = {
        i: {"merchant_id": i, "tickets": 0, "log_events": 0, "metric_points": 0} for i in ids
    }
    for key, query in (
        (
            "tickets",
            select(t.c.merchant_id, func.count())
            .where(t.c.merchant_id.in_(ids), t.c.created_ms >= start_ms, t.c.created_ms < end_ms)
            .group_by(t.c.merchant_id),
        ),
        (
            "log_events",
            select(r.c.merchant_id, func.sum(r.c.count))
            .where(r.c.merchant_id.in_(ids), r.c.minute_ms >= start_ms, r.c.minute_ms < end_ms)
            .group_by(r.c.merchant_id),
        ),
        (
            "metric_points",
            select(mp.c.merchant_id, func.count())
            .where(mp.c.merchant_id.in_(ids), mp.c.ts_ms >= start_ms, mp.c.ts_ms < end_ms)
            .group_by(mp.c.merchant_id),
        ),
    ):
        for merchant, n in conn.execute(query):
            counts[merchant][key] = int(n or 0)
    return [counts[i] for i in ids]
