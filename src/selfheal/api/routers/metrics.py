"""`GET /metrics`: Prometheus text format (the official client, `prometheus-client`).

Figures about the installation (open incidents, revenue at risk, pending actions and what their waiting
costs, signal lag, the latest cycle's stages) are read from the database at scrape time, so every process
reports the same values and a scrape of any worker is right. Figures about this process (ingest batches
stored and rejected since it started, whether its scheduler leads) are its own: sum them over processes.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from selfheal.api.deps import Services, services
from selfheal.records import dt_to_ms, utcnow
from selfheal.schedule.scheduler import Scheduler
from selfheal.store import Store, ops_repo

router = APIRouter(tags=["health"])
INGEST_PATHS = {"/ingest/tickets": "tickets", "/ingest/logs": "logs", "/ingest/metrics": "metrics"}


class StoreCollector(Collector):
    """The installation's figures, read from the database on every scrape."""

    def __init__(self, store: Store, scheduler: Scheduler | None) -> None:
        self.store = store
        self.scheduler = scheduler

    def collect(self) -> Iterator[Metric]:
        yield from self._leadership()
        now = dt_to_ms(utcnow())
        with self.store.read() as conn:
            severities = ops_repo.open_incidents_by_severity(conn)
            at_risk = ops_repo.revenue_at_risk(conn)
            pending = ops_repo.pending_actions(conn)
            waiting = ops_repo.waiting_cost(conn, now)
            newest = ops_repo.newest_signal_ms(conn)
            cycle = ops_repo.latest_cycle(conn)
        yield _labelled("selfheal_open_incidents", "Unresolved incidents", "severity", severities)
        yield _labelled(
            "selfheal_revenue_at_risk_per_hour",
            "Lost revenue per hour of open incidents",
            "currency",
            at_risk,
        )
        yield _labelled(
            "selfheal_actions_pending", "Actions proposed or approved, not run", "status", pending
        )
        yield _labelled(
            "selfheal_actions_waiting_cost",
            "Revenue lost while pending actions waited (incident loss per hour x hours waited)",
            "currency",
            waiting,
        )
        lag = {k: (now - v) / 1000 for k, v in newest.items() if v is not None}
        yield _labelled("selfheal_ingest_lag_seconds", "Now minus the newest stored signal", "kind", lag)
        if cycle is not None:
            as_of_ms, duration_ms, stages = cycle
            yield _gauge(
                "selfheal_cycle_last_as_of_seconds", "as_of of the latest cycle (epoch)", as_of_ms / 1000
            )
            yield _gauge(
                "selfheal_cycle_last_duration_seconds", "Duration of the latest cycle", duration_ms / 1000
            )
            yield _labelled(
                "selfheal_cycle_stage_seconds",
                "Duration of each stage of the latest cycle",
                "stage",
                {k: v / 1000 for k, v in stages.items() if k != "total"},
            )

    def _leadership(self) -> Iterator[Metric]:
        s = self.scheduler
        yield _gauge("selfheal_scheduler_enabled", "This process runs a scheduler", float(s is not None))
        if s is None:
            return
        yield _gauge("selfheal_scheduler_leader", "This process's scheduler leads", float(s.state.leader))
        yield _gauge(
            "selfheal_scheduler_cycles", "Cycles this process's scheduler ran", float(s.state.cycles)
        )
        yield _gauge(
            "selfheal_scheduler_skipped_periods", "Missed periods skipped", float(s.state.skipped_periods)
        )
        yield _gauge("selfheal_scheduler_errors", "Scheduler ticks that failed", float(s.state.errors))
        yield _gauge("selfheal_scheduler_recovered_actions", "Actions recovered", float(s.state.recovered))


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _labelled(
    name: str, doc: str, label: str, values: dict[str, float] | dict[str, int]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], float(value))
    return family


def install(app: FastAPI, store: Store, scheduler: Scheduler | None) -> None:
    """A registry for this app, its collector, and the middleware counting ingest batches."""
    registry = CollectorRegistry()
    registry.register(StoreCollector(store, scheduler))
    batches = Counter(
        "selfheal_ingest_batches",
        "Ingest batches this process answered, by kind and result (stored, rejected: 4xx, failed: 5xx)",
        ["kind", "result"],
        registry=registry,
    )
    app.state.metrics_registry = registry

    app.add_middleware(CountIngest, batches=batches)


class CountIngest:
    """Counts ingest batches by kind and answer (pure ASGI: it only watches the response's status, so the
    request's `receive` stays the server's own and `Request.is_disconnected()` sees a client leave)."""

    def __init__(self, app: ASGIApp, batches: Counter) -> None:
        self.app = app
        self.batches = batches

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = INGEST_PATHS.get(scope.get("path", "")) if scope["type"] == "http" else None
        if kind is None or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                code = int(message["status"])
                result = "stored" if code < 400 else "rejected" if code < 500 else "failed"
                self.batches.labels(kind, result).inc()
            await send(message)

        await self.app(scope, receive, counting_send)


@router.get("/metrics", response_class=Response, include_in_schema=False)  # Prometheus text, not JSON
def metrics(request: Request, _: Services = Depends(services)) -> Response:
    """Prometheus metrics of the installation and this process. Needs no key."""
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
