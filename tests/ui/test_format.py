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


def test_money_interval_never_below_zero_and_never_cut() -> None:
    assert (
        fmt.money_interval({"value": 10.0, "low": -5.0, "high": 6_123.4}) == "$0.00 to $6,123 (90% interval)"
    )
    assert fmt.money_interval(None) == "n/a"


def test_a_negative_loss_is_no_loss() -> None:
    assert fmt.loss(-12.5) == 0.0
    assert fmt.loss(3.0) == 3.0
    assert fmt.loss(None) is None


def test_any_status_gets_a_chip() -> None:
    assert fmt.status_chip("recovering") == ":blue-badge[recovering]"
    assert fmt.status_chip("some_new_state") == ":gray-badge[some new state]"


def test_verdicts_in_words() -> None:
    text = fmt.verdict_text({"verdict": "partial", "before_per_hour": 67.7, "after_per_hour": 18.2})
    assert text == ":orange-badge[partly worked] lost orders per hour 68 before, 18 after"
    assert fmt.verdict_chip("no_effect") == ":red-badge[no effect]"


def test_per_day_says_its_factor() -> None:
    report = {"lost_revenue_per_hour": {"value": 4239.0}, "lost_revenue_per_day": {"value": 274_956.0}}
    assert "(65 x the hourly figure)" in fmt.per_day_basis(report)


def test_humanize_fields_of_newer_servers() -> None:
    assert fmt.humanize("2024-03-06T11:15:00Z", "Europe/Berlin") == "2024-03-06 12:15 CET"
    assert fmt.humanize({"value": 12.0, "low": 8.0, "high": 16.0}, None) == "12 (8 to 16)"
    assert fmt.humanize(1234.0, None) == "1,234"
    assert fmt.humanize("recovering", None) == "recovering"
