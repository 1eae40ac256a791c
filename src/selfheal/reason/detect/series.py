"""Messy exported series made scoreable: one documented rule per kind of mess, every repair counted.

Real exports are not clean: clocks step back an hour (rows out of order), two collectors write the same
minute (repeated timestamps), cells are empty or say `n/a`, intervals are skipped. `clean_series` turns such
rows into a strictly increasing series of points and says what it did:

* a row whose time or value cannot be read (empty, non-numeric, not a date) is **skipped** and counted; times
  are ISO 8601 (`2024-01-01 00:00[:00[.fff]]`, `T` or space, `Z` or an offset: converted to UTC, naive times
  read as UTC) or one of `TIME_FORMATS`;
* rows out of time order are **sorted** (stable: equal times keep their file order) and counted (a row is out
  of order when its time is earlier than a time above it in the file);
* rows sharing a timestamp are **merged** into one point whose value is their **mean** (a duplicated export
  row merges into itself) and counted;
* skipped intervals stay **gaps**: nothing is invented; the detectors see the real timestamps and measure
  time, not rows. Gaps (steps over twice the typical step) are counted.

`row_point[i]` maps input row `i` to its point (-1 for a skipped row), so each input row gets its point's score.
In strict mode any skipped, out-of-order or merged row is refused instead, as before.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from selfheal.errors import InvalidInput

GAP_FACTOR = 2.0
"""A step longer than this many typical steps counts as a gap."""

TIME_FORMATS = (
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
)
"""Non-ISO time layouts also read (month first where ambiguous, as spreadsheets in the US write them)."""

_EPOCH = datetime(1970, 1, 1)
_MILLISECOND = timedelta(milliseconds=1)


def parse_time_ms(cell: object) -> int | None:
    """Milliseconds since the epoch (UTC) of a time cell, or None when it is empty or not a time."""
    if isinstance(cell, np.datetime64):
        return None if np.isnat(cell) else int(cell.astype("datetime64[ms]").astype(np.int64))
    if isinstance(cell, datetime):
        moment = cell
    elif isinstance(cell, str) and cell.strip():
        text = cell.strip()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            for layout in TIME_FORMATS:
                try:
                    moment = datetime.strptime(text, layout)
                    break
                except ValueError:
                    continue
            else:
                return None
    else:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return (moment - _EPOCH) // _MILLISECOND


def parse_value(cell: object) -> float:
    """A value cell as a float; NaN when it is empty, not a number or not finite."""
    if cell is None or isinstance(cell, bool):
        return math.nan
    try:
        value = float(cell.strip() if isinstance(cell, str) else cell)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return value if math.isfinite(value) else math.nan


@dataclass(frozen=True)
class CleanSeries:
    """Strictly increasing points built from rows, and what was repaired on the way."""

    timestamps: NDArray[np.datetime64]
    values: NDArray[np.float64]
    row_point: NDArray[np.int64]
    skipped_time: int = 0
    skipped_value: int = 0
    out_of_order: int = 0
    merged: int = 0
    gaps: int = 0
    first_bad_row: dict[str, int] = field(default_factory=dict)

    def warnings(self) -> list[str]:
        """One sentence per repair, empty when the rows were already clean."""
        said = []
        if self.skipped_time:
            said.append(f"{self.skipped_time} rows skipped: unreadable time")
        if self.skipped_value:
            said.append(f"{self.skipped_value} rows skipped: empty or non-numeric value")
        if self.out_of_order:
            said.append(f"{self.out_of_order} rows out of time order: sorted")
        if self.merged:
            said.append(f"{self.merged} rows repeat an earlier timestamp: merged (mean value)")
        if self.gaps:
            said.append(f"{self.gaps} gaps (steps over {GAP_FACTOR:g}x the typical step): kept as gaps")
        return said


def _out_of_order(times: NDArray[np.int64]) -> int:
    if len(times) < 2:
        return 0
    earlier_max = np.maximum.accumulate(times)[:-1]
    return int(np.sum(times[1:] < earlier_max))


def _gaps(times: NDArray[np.int64]) -> int:
    if len(times) < 3:
        return 0
    steps = np.diff(times)
    return int(np.sum(steps > GAP_FACTOR * float(np.median(steps))))


def clean_series(
    raw_times: Sequence[object],
    raw_values: Sequence[object],
    *,
    strict: bool = False,
    time_field: str = "timestamp",
    value_field: str = "value",
) -> CleanSeries:
    """Points from raw time and value cells (strings or numbers), by the rules in the module docstring."""
    parsed = [parse_time_ms(cell) for cell in raw_times]
    values = np.asarray([parse_value(cell) for cell in raw_values], dtype=np.float64)
    bad_time = np.asarray([ms is None for ms in parsed], dtype=bool)
    bad_value = ~np.isfinite(values) & ~bad_time
    keep = ~(bad_time | bad_value)
    first_bad: dict[str, int] = {}
    if bad_time.any():
        first_bad[time_field] = int(np.flatnonzero(bad_time)[0]) + 2  # 1-based, after the header line
    if bad_value.any():
        first_bad[value_field] = int(np.flatnonzero(bad_value)[0]) + 2
    kept_rows = np.flatnonzero(keep)
    ms = np.asarray([ms for ms in parsed if ms is not None], dtype=np.int64)[keep[~bad_time]]
    out_of_order = _out_of_order(ms)
    order = np.argsort(ms, kind="stable")
    unique_ms, point_of_sorted = np.unique(ms[order], return_inverse=True)
    merged = len(ms) - len(unique_ms)
    if strict:
        _refuse(bad_time, bad_value, first_bad, out_of_order, merged, time_field, value_field)
    sums = np.bincount(point_of_sorted, weights=values[kept_rows][order], minlength=len(unique_ms))
    counts = np.bincount(point_of_sorted, minlength=len(unique_ms))
    row_point = np.full(len(raw_times), -1, dtype=np.int64)
    row_point[kept_rows[order]] = point_of_sorted
    return CleanSeries(
        timestamps=unique_ms.astype("datetime64[ms]"),
        values=sums / np.maximum(counts, 1),
        row_point=row_point,
        skipped_time=int(bad_time.sum()),
        skipped_value=int(bad_value.sum()),
        out_of_order=out_of_order,
        merged=merged,
        gaps=_gaps(unique_ms),
        first_bad_row=first_bad,
    )


def _refuse(
    bad_time: NDArray[np.bool_],
    bad_value: NDArray[np.bool_],
    first_bad: dict[str, int],
    out_of_order: int,
    merged: int,
    time_field: str,
    value_field: str,
) -> None:
    """Strict mode: the first kind of mess found is an InvalidInput naming the field."""
    unreadable = int(bad_time.sum() + bad_value.sum())
    if unreadable:
        where = value_field if bad_value.any() else time_field
        raise InvalidInput(
            f"{unreadable} rows have an unreadable time or value (first: row {first_bad[where]})",
            {"field": where, "row": first_bad[where]},
        )
    if out_of_order:
        raise InvalidInput(f"rows must be in time order ({out_of_order} are not)", {"field": time_field})
    if merged:
        raise InvalidInput(f"{merged} rows repeat an earlier timestamp", {"field": time_field})
