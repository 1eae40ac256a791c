"""Prometheus as a source of KPI metric points: `query_range` of configured PromQL expressions.

The source config (JSON or YAML, `SELFHEAL_PROMETHEUS_CONFIG`) names the queries and the KPI field each feeds:

    step_seconds: 60              # the points' interval; each query is evaluated every step
    lag_seconds: 30               # evaluations later than now - lag are left for the next pull
    merchant_label: merchant_id   # the series label that names the merchant
    stage_label: migration_stage  # optional: the label that names the stage
    merchants: {shop-a: m-001}    # optional: label value -> merchant id (unlisted values are kept as they are)
    currency: USD                 # optional
    queries:
      - {name: attempts, feeds: checkout_attempts, expr: 'sum by (merchant_id) (increase(checkout_attempts_total[1m]))'}
      - {name: orders, feeds: orders, expr: 'sum by (merchant_id) (increase(orders_total[1m]))'}
      - {name: revenue, feeds: revenue, expr: 'sum by (merchant_id) (increase(revenue_total[1m]))'}

`checkout_attempts`, `orders` and `revenue` are required (the metric contract's required fields); `sessions` and
`p95_latency_ms` are optional. A value evaluated at T becomes the point of the interval `[T - step, T)`, so an
expression should look back one step (`[1m]` for a 60 s step). Counts are rounded to whole numbers. A (merchant,
interval) that lacks a required field is not stored and is counted as incomplete. Points are stored through
ingest: idempotent by (merchant, interval start), so pulling an overlapping range again stores nothing twice.

The HTTP API (prometheus.io/docs/prometheus/latest/querying/api/#range-queries): `GET /api/v1/query_range`
with `query`, `start`, `end`, `step`; the answer is `{"status": "success", "data": {"resultType": "matrix",
"result": [{"metric": {...}, "values": [[unix seconds, "value"], ...]}]}}`. Prometheus refuses more than 11,000
points per series, so long ranges are fetched in chunks.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from selfheal.connect.merchants import PROMETHEUS, SettingsMerchants, resolve
from selfheal.errors import InvalidInput, UpstreamError
from selfheal.ingest import IngestResult, store_batch
from selfheal.records import Record, ms_to_dt, utcnow
from selfheal.settings import Settings
from selfheal.signals import MAX_INT32, MAX_MONEY, MetricPoint
from selfheal.store import Store

Feed = Literal["checkout_attempts", "orders", "revenue", "sessions", "p95_latency_ms"]
REQUIRED: tuple[Feed, ...] = ("checkout_attempts", "orders", "revenue")
COUNTS = frozenset({"checkout_attempts", "orders", "sessions"})
MAX_POINTS_PER_QUERY = 10_000
"""Evaluations per request (Prometheus refuses more than 11,000 points per series)."""


class PromQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=128)]
    expr: Annotated[str, Field(min_length=1, max_length=10_000)]
    feeds: Feed


class PromSource(BaseModel):
    """A Prometheus source: where, how often, which expressions feed which KPI field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = Field(None, description="Overrides SELFHEAL_PROMETHEUS_URL.")
    step_seconds: Annotated[int, Field(gt=0, le=86_400)] = 60
    lag_seconds: Annotated[int, Field(ge=0, le=86_400)] = 30
    merchant_label: Annotated[str, Field(min_length=1)] = "merchant_id"
    stage_label: str | None = "migration_stage"
    merchants: dict[str, str] = Field(default_factory=dict)
    currency: Annotated[str, Field(min_length=3, max_length=3)] | None = None
    queries: Annotated[list[PromQuery], Field(min_length=1)]

    @model_validator(mode="after")
    def _feeds(self) -> PromSource:
        feeds = [q.feeds for q in self.queries]
        repeated = sorted({f for f in feeds if feeds.count(f) > 1})
        if repeated:
            raise ValueError(f"each KPI field is fed by one query; repeated: {', '.join(repeated)}")
        missing = [f for f in REQUIRED if f not in feeds]
        if missing:
            raise ValueError(f"queries must feed the required fields; missing: {', '.join(missing)}")
        return self


def parse_source(data: Any, where: str = "config") -> PromSource:
    try:
        return PromSource.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or where, "reason": e["msg"]} for e in exc.errors()
        ]
        raise InvalidInput(
            f"{where}: not a Prometheus source: {errors[0]['field']}: {errors[0]['reason']}",
            {"errors": errors},
        ) from exc


def load_source(path: Path) -> PromSource:
    """Read a source config: YAML for `.yaml`/`.yml`, else JSON."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc}", {"field": "prometheus_config"}) from exc
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = orjson.loads(text)
    except Exception as exc:  # yaml.YAMLError, orjson.JSONDecodeError: the file is not what it says
        raise InvalidInput(
            f"{path} is not valid {path.suffix or 'JSON'}: {exc}", {"field": "prometheus_config"}
        ) from exc
    return parse_source(data, str(path))


def configured_source(settings: Settings) -> PromSource | None:
    """The source the settings configure, or None when no config file is set."""
    if settings.prometheus_config is None:
        return None
    source = load_source(settings.prometheus_config)
    if not (source.url or settings.prometheus_url):
        raise InvalidInput(
            "the Prometheus source has no URL (SELFHEAL_PROMETHEUS_URL or `url` in the config)",
            {"field": "prometheus_url"},
        )
    return source


# --- the HTTP API -------------------------------------------------------------------------------------


def query_range(
    client: httpx.Client, base_url: str, expr: str, start_s: int, end_s: int, step_s: int
) -> list[dict[str, Any]]:
    """The matrix of one range query (evaluations at start, start + step, ... <= end), chunked."""
    out: list[dict[str, Any]] = []
    url = base_url.rstrip("/") + "/api/v1/query_range"
    chunk = step_s * (MAX_POINTS_PER_QUERY - 1)
    lo = start_s
    while lo <= end_s:
        hi = min(end_s, lo + chunk)
        params: dict[str, str | int] = {"query": expr, "start": lo, "end": hi, "step": step_s}
        try:
            res = client.get(url, params=params)
        except httpx.HTTPError as exc:
            raise UpstreamError(f"Prometheus at {base_url} did not answer: {exc}", {"url": url}) from exc
        try:
            body = res.json()
        except ValueError as exc:
            raise UpstreamError(
                f"Prometheus answered {res.status_code} without JSON", {"url": url, "status": res.status_code}
            ) from exc
        if res.status_code != 200 or body.get("status") != "success":
            raise UpstreamError(
                f"Prometheus refused the query {expr!r}: {body.get('errorType')}: {body.get('error')}",
                {"url": url, "status": res.status_code, "error": body.get("error")},
            )
        data = body.get("data") or {}
        if data.get("resultType") != "matrix":
            raise UpstreamError(
                f"Prometheus answered a {data.get('resultType')!r}, not a matrix", {"url": url}
            )
        out.extend(data.get("result") or [])
        lo = hi + step_s
    return out


# --- series to points ---------------------------------------------------------------------------------


class PullResult(Record):
    start: datetime
    end: datetime
    queries: int
    series: int
    unlabelled_series: int
    """Series without the merchant label: not attributable, skipped."""
    points: int
    incomplete: int
    """(merchant, interval) pairs that lacked a required field: not stored."""
    stored: int
    duplicates: int


@dataclass
class _Acc:
    values: dict[Feed, float] = field(default_factory=dict)
    stage: str | None = None


def _value(text: Any) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _accumulate(
    source: PromSource, results: dict[Feed, list[dict[str, Any]]], merchants: SettingsMerchants
) -> tuple[dict[tuple[str, int], _Acc], int]:
    """Values by (merchant, interval start ms), and the count of series without the merchant label."""
    acc: dict[tuple[str, int], _Acc] = defaultdict(_Acc)
    step_ms = source.step_seconds * 1000
    unlabelled = 0
    for feed, series_list in results.items():
        for series in series_list:
            labels = series.get("metric") or {}
            key = labels.get(source.merchant_label)
            if not key:
                unlabelled += 1
                continue
            merchant = resolve(merchants, PROMETHEUS, str(key))
            stage = labels.get(source.stage_label) if source.stage_label else None
            for t, text in series.get("values") or []:
                value = _value(text)
                if value is None:
                    continue
                slot = acc[(merchant, round(float(t) * 1000) - step_ms)]
                old = slot.values.get(feed)
                # two series on one merchant (a label map joins them): counts add, latency keeps the worst
                if old is not None:
                    value = max(old, value) if feed == "p95_latency_ms" else old + value
                slot.values[feed] = value
                slot.stage = slot.stage or stage
    return acc, unlabelled


def _fit(feed: str, value: float) -> float | int:
    """A value within its field's contract: whole, non-negative counts; bounded money; latency >= 0."""
    if feed in COUNTS:
        return min(MAX_INT32, max(0, round(value)))
    if feed == "revenue":
        return min(MAX_MONEY, max(0.0, value))
    return max(0.0, value)


def points_from(
    source: PromSource, results: dict[Feed, list[dict[str, Any]]], merchants: SettingsMerchants
) -> tuple[list[MetricPoint], int, int]:
    """The metric points of the queries' matrices, the incomplete count and the unlabelled series count."""
    acc, unlabelled = _accumulate(source, results, merchants)
    points = []
    incomplete = 0
    for (merchant, ts_ms), slot in sorted(acc.items()):
        if any(f not in slot.values for f in REQUIRED):
            incomplete += 1
            continue
        points.append(
            MetricPoint(
                ts=ms_to_dt(ts_ms),
                merchant_id=merchant,
                interval_seconds=source.step_seconds,
                migration_stage=slot.stage,
                currency=source.currency,
                source="prometheus",
                **{f: _fit(f, v) for f, v in slot.values.items()},
            )
        )
    return points, incomplete, unlabelled


def pull(
    store: Store,
    settings: Settings,
    source: PromSource,
    since: datetime,
    until: datetime | None = None,
    client: httpx.Client | None = None,
) -> PullResult:
    """Fetch `[since, until]` (until: now - the source's lag) of every query and store the points."""
    step = source.step_seconds
    latest = utcnow() - timedelta(seconds=source.lag_seconds)
    end_s = int(min(until or latest, latest).timestamp()) // step * step
    start_s = (
        -(-int(since.timestamp()) // step) * step + step
    )  # the first evaluation closing an interval >= since
    base_url = source.url or settings.prometheus_url
    if not base_url:
        raise InvalidInput("no Prometheus URL (SELFHEAL_PROMETHEUS_URL)", {"field": "prometheus_url"})
    empty = PullResult(
        start=ms_to_dt(start_s * 1000 - step * 1000),
        end=ms_to_dt(max(end_s, start_s) * 1000),
        queries=len(source.queries),
        series=0,
        unlabelled_series=0,
        points=0,
        incomplete=0,
        stored=0,
        duplicates=0,
    )
    if end_s < start_s:
        return empty
    own = client is None
    http = client or httpx.Client(timeout=settings.prometheus_timeout_seconds)
    try:
        results = {q.feeds: query_range(http, base_url, q.expr, start_s, end_s, step) for q in source.queries}
    finally:
        if own:
            http.close()
    merchants = SettingsMerchants({PROMETHEUS: dict(source.merchants)})
    points, incomplete, unlabelled = points_from(source, results, merchants)
    stored: IngestResult | None = (
        store_batch(store, "metrics", points, actor="connector:prometheus") if points else None
    )
    return empty.model_copy(
        update={
            "series": sum(len(v) for v in results.values()),
            "unlabelled_series": unlabelled,
            "points": len(points),
            "incomplete": incomplete,
            "stored": stored.stored if stored else 0,
            "duplicates": stored.duplicates if stored else 0,
        }
    )


__all__ = ["PromSource", "PullResult", "configured_source", "load_source", "parse_source", "pull"]
