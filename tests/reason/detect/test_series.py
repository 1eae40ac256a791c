"""The rules that make messy exported rows a scoreable series."""

from __future__ import annotations

import numpy as np
import pandas as pd

from selfheal.reason.detect.series import clean_series


def test_repeated_timestamps_merge_into_their_mean_and_out_of_order_rows_are_sorted() -> None:
    times = pd.Series(["2024-01-01 00:02", "2024-01-01 00:00", "2024-01-01 00:01", "2024-01-01 00:00"])
    values = pd.Series(["3", "1", "2", "5"])
    series = clean_series(times, values)
    assert series.values.tolist() == [3.0, 2.0, 3.0]  # 00:00 is the mean of 1 and 5
    assert series.row_point.tolist() == [2, 0, 1, 0]
    assert series.out_of_order == 3 and series.merged == 1  # each row earlier than one above it
    assert np.all(np.diff(series.timestamps.astype(np.int64)) > 0)


def test_unreadable_cells_are_skipped_and_gaps_stay_gaps() -> None:
    minutes = [f"2024-01-01 00:{m:02d}" for m in range(6)] + ["2024-01-01 01:00"]
    times = pd.Series([*minutes[:2], "bad", *minutes[2:]])
    values = pd.Series([1.0, None, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    series = clean_series(times, values)
    assert series.row_point.tolist() == [0, -1, -1, 1, 2, 3, 4, 5]
    assert (series.skipped_time, series.skipped_value) == (1, 1)
    assert (
        series.gaps == 1 and len(series.values) == 6
    )  # the hour (one missed minute is not over 2x): nothing invented
    assert series.warnings() and clean_series(times[:1], values[:1]).warnings() == []
