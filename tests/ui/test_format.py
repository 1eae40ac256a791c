"""The figures a person reads: money, counts, rates and times in their own zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from selfheal.ui import format as fmt


def test_money_has_its_currency_and_sensible_decimals() -> None:
    assert fmt.money(1234.5) == "$1,234"
    assert fmt.money(12.5, "EUR") == "€12.50"
    assert fmt.money(-80.0, "GBP") == "-£80.00"
    assert fmt.money(1500, "SEK") == "1,500 SEK"
    assert fmt.money(None) == "n/a"


def test_counts_percentages_and_estimates() -> None:
    assert fmt.count(12345) == "12,345"
    assert fmt.count(3.25, "orders") == "3.2 orders"
    assert fmt.pct(0.0345) == "3.5%"
    assert fmt.pct(None) == "n/a"
    assert fmt.estimate({"value": 1200, "low": 900, "high": 1500}, "money") == "$1,200 ($900–$1,500)"
    assert fmt.estimate({"value": 40.2, "low": 30, "high": 51}) == "40 (30–51)"


def test_times_are_shown_in_the_viewers_zone() -> None:
    moment = "2024-03-06T12:00:00Z"
    assert fmt.when(moment, "Europe/Berlin") == "2024-03-06 13:00 CET"
    assert fmt.when(moment, "America/New_York") == "2024-03-06 07:00 EST"
    assert fmt.when(moment, "Not/AZone") == "2024-03-06 12:00 UTC"
    assert (
        fmt.when(datetime(2024, 7, 1, 12, tzinfo=UTC), "Europe/Berlin", seconds=True)
        == "2024-07-01 14:00:00 CEST"
    )
    now = datetime(2024, 3, 6, 12, tzinfo=UTC)
    assert fmt.ago(now - timedelta(minutes=12), now) == "12 min ago"
    assert fmt.ago(now - timedelta(hours=5), now) == "5 h ago"


def test_window_lengths_read_naturally() -> None:
    assert [fmt.minutes(m) for m in (15, 60, 90, 120, 1440, 1800)] == [
        "15 min",
        "1 h",
        "90 min",
        "2 h",
        "1 d",
        "1 d 6 h",
    ]


def test_chips_carry_colour_by_meaning() -> None:
    assert fmt.severity_chip("critical") == ":red-badge[CRITICAL]"
    assert fmt.kind_chip("soft") == ":orange-badge[soft]"
    assert fmt.status_chip("succeeded") == ":green-badge[succeeded]"


def test_durations() -> None:
    assert fmt.duration_ms(320.4) == "320 ms"
    assert fmt.duration_ms(5020) == "5.0 s"
