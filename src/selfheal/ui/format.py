"""Human-readable figures: money with its currency, counts, percentages, times in the viewer's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_SYMBOLS = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "INR": "₹",
    "CHF": "CHF ",
    "CAD": "CA$",
    "AUD": "A$",
}


def money(value: float | None, currency: str = "USD", decimals: int | None = None) -> str:
    """`$1,234` / `€12.50` / `1,234 SEK`; cents only below 100 unless `decimals` says otherwise."""
    if value is None:
        return "n/a"
    places = decimals if decimals is not None else (2 if abs(value) < 100 else 0)
    sign = "-" if value < 0 else ""
    amount = f"{abs(value):,.{places}f}"
    symbol = _SYMBOLS.get(currency.upper())
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency.upper()}"


def count(value: float | None, unit: str = "") -> str:
    """`1,234 orders`; fractional counts are rounded (they are estimates)."""
    if value is None:
        return "n/a"
    text = f"{value:,.0f}" if abs(value) >= 10 or float(value).is_integer() else f"{value:,.1f}"
    return f"{text} {unit}".rstrip()


def pct(value: float | None, decimals: int = 1) -> str:
    """A fraction as a percentage: 0.0345 -> `3.5%`."""
    return "n/a" if value is None else f"{value * 100:.{decimals}f}%"


def money_interval(est: dict[str, Any] | None, currency: str = "USD", level: float = 0.9) -> str:
    """`$6,469 to $8,525 (90% interval)`, the interval of an `Estimate`, never below zero (a loss)."""
    if not est:
        return "n/a"
    low, high = max(est["low"], 0.0), max(est["high"], 0.0)
    return f"{money(low, currency)} to {money(high, currency)} ({level:.0%} interval)"


def loss(value: float | None) -> float | None:
    """A loss for people: a negative estimate (more orders than expected) is no loss."""
    return None if value is None else max(value, 0.0)


def clock(value: str | datetime | None, tz: str | None) -> str:
    """`12:15` in the viewer's zone (the date is on the page already)."""
    moment = parse_time(value)
    return "n/a" if moment is None else moment.astimezone(zone(tz)).strftime("%H:%M")


def per_day_basis(report: dict[str, Any]) -> str:
    """Why the projected day is not 24 x the hour, in words, with the factor."""
    hour = report["lost_revenue_per_hour"]["value"]
    day = report["lost_revenue_per_day"]["value"]
    factor = f" ({day / hour:.0f} x the hourly figure)" if hour > 0 else ""
    return (
        "If it persists: the loss per checkout attempt since the onset times a whole day's usual checkout "
        f"attempts at these merchants{factor}; traffic varies over the day, so it is not 24 x the last hour."
    )


VERDICT_COLOR = {"worked": "green", "partial": "orange", "no_effect": "red"}
VERDICT_WORDS = {"worked": "worked", "partial": "partly worked", "no_effect": "no effect"}


def verdict_chip(verdict: str) -> str:
    return chip(VERDICT_WORDS.get(verdict, verdict.replace("_", " ")), VERDICT_COLOR.get(verdict, "gray"))


def verdict_text(v: dict[str, Any]) -> str:
    """`partly worked: lost orders per hour 67.7 before, 18.2 after`."""
    return (
        f"{verdict_chip(v['verdict'])} lost orders per hour {count(loss(v['before_per_hour']))} before, "
        f"{count(loss(v['after_per_hour']))} after"
    )


def humanize(value: Any, tz: str | None) -> str:
    """Any field value for people: an Estimate, a time, a number or text (for fields added by newer servers)."""
    if isinstance(value, dict) and {"value", "low", "high"} <= value.keys():
        return f"{count(value['value'])} ({count(value['low'])} to {count(value['high'])})"
    if isinstance(value, bool) or value is None:
        return "n/a" if value is None else ("yes" if value else "no")
    if isinstance(value, int | float):
        return count(value)
    if isinstance(value, str):
        try:
            moment = parse_time(value)
        except ValueError:
            return value
        return when(moment, tz) if moment is not None and "T" in value else value
    return str(value)


def estimate(est: dict[str, Any] | None, fmt: str = "count", currency: str = "USD", unit: str = "") -> str:
    """An `Estimate` {value, low, high} as `value (low–high)`."""
    if not est:
        return "n/a"

    def one(v: float) -> str:
        return money(v, currency) if fmt == "money" else count(v, "")

    body = f"{one(est['value'])} ({one(est['low'])}–{one(est['high'])})"
    return f"{body} {unit}".rstrip()


def zone(name: str | None) -> ZoneInfo:
    """The named time zone, or UTC when the name is missing or unknown."""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def parse_time(value: str | datetime | None) -> datetime | None:
    """An ISO 8601 string (as the API sends) or a datetime, as an aware datetime (naive = UTC)."""
    if value is None or value == "":
        return None
    moment = (
        value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    )
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def when(value: str | datetime | None, tz: str | None, seconds: bool = False) -> str:
    """`2024-03-04 14:05 CET` in the viewer's time zone."""
    moment = parse_time(value)
    if moment is None:
        return "n/a"
    local = moment.astimezone(zone(tz))
    return local.strftime(f"%Y-%m-%d %H:%M{':%S' if seconds else ''} %Z")


def ago(value: str | datetime | None, now: datetime | None = None) -> str:
    """`12 min ago`, `3 h ago`, `2 d ago`."""
    moment = parse_time(value)
    if moment is None:
        return "n/a"
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    if seconds < 0:
        return "in the future"
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 172_800:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} d ago"


def duration_ms(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f} ms" if value < 1000 else f"{value / 1000:,.1f} s"


def minutes(value: int) -> str:
    """`90 min`, `2 h`, `1 d 6 h`."""
    if value < 60 or (value % 60 and value < 180):
        return f"{value} min"
    if value < 1440:
        return f"{value / 60:g} h"
    days, rest = divmod(value, 1440)
    return f"{days} d {rest // 60} h" if rest else f"{days} d"


SEVERITY_COLOR = {"critical": "red", "high": "orange", "medium": "violet", "low": "gray"}
KIND_COLOR = {"hard": "red", "soft": "orange", "business": "blue"}
STATUS_COLOR = {
    "proposed": "orange",
    "approved": "blue",
    "executing": "violet",
    "succeeded": "green",
    "failed": "red",
    "rejected": "gray",
    "cancelled": "gray",
    "open": "red",
    "mitigating": "orange",
    "recovering": "blue",
    "resolved": "green",
}
RISK_COLOR = {"high": "red", "medium": "orange", "low": "green"}


def chip(text: str, color: str = "gray") -> str:
    """A coloured badge in Streamlit markdown."""
    return f":{color}-badge[{text}]"


def severity_chip(severity: str) -> str:
    return chip(severity.upper(), SEVERITY_COLOR.get(severity, "gray"))


def kind_chip(kind: str) -> str:
    return chip(kind, KIND_COLOR.get(kind, "gray"))


def status_chip(status: str) -> str:
    """Any status the server sends, coloured when known, gray otherwise."""
    return chip(str(status).replace("_", " "), STATUS_COLOR.get(str(status), "gray"))


def risk_chip(risk: str) -> str:
    return chip(f"{risk} risk", RISK_COLOR.get(risk, "gray"))
