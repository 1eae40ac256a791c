"""The FastAPI app factory. Routers are thin: they parse, authorise and call the core."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from selfheal import __version__
from selfheal.api import errors, openapi
from selfheal.api.deps import Services
from selfheal.api.nul import RefuseNul
from selfheal.api.routers import (
    actions,
    anomalies,
    audit_trail,
    connectors,
    cycles,
    health,
    incidents,
    ingest,
    keys,
    merchants,
    metrics,
    notifications,
    probes,
    runbooks,
    series,
    themes,
    whoami,
)
from selfheal.cycle import CycleDeps
from selfheal.notify.worker import Notifier
from selfheal.schedule.logs import configure_logging
from selfheal.schedule.scheduler import Scheduler
from selfheal.settings import Settings
from selfheal.store import Store


def _scheduler(settings: Settings, store: Store, notifier: Notifier | None) -> Scheduler | None:
    """The API process's scheduler when `cycle_every` is set (it leads or follows like any worker)."""
    if settings.cycle_every <= 0:
        return None
    configure_logging(settings.log_json)
    return Scheduler(CycleDeps(store=store, settings=settings, notifier=notifier))


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    settings = settings or Settings()
    owns_store = store is None
    store = store or Store.open(settings.resolved_database_url())

    notifier = Notifier(store, settings) if settings.notify_routes else None
    scheduler = _scheduler(settings, store, notifier)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if notifier is not None:
            notifier.start()
        if scheduler is not None:
            scheduler.start()
        yield
        if scheduler is not None:
            scheduler.stop()
        if notifier is not None:
            notifier.stop()
        if owns_store:
            store.dispose()

    app = FastAPI(
        title="selfheal",
        version=__version__,
        description="Self-healing support layer: observe -> reason -> decide -> act.",
        lifespan=lifespan,
    )
    app.state.services = Services(settings=settings, store=store, notifier=notifier)
    app.state.scheduler = scheduler
    errors.install(app)
    metrics.install(app, store, scheduler)
    routers = (
        health,
        probes,
        metrics,
        ingest,
        cycles,
        anomalies,
        actions,
        audit_trail,
        keys,
        incidents,
        themes,
        whoami,
        series,
        notifications,
        connectors,
        merchants,
    )
    for module in routers:
        app.include_router(module.router)
    app.include_router(runbooks.router, prefix="/runbooks")
    app.include_router(runbooks.router, prefix="/rag", deprecated=True)  # the name before /runbooks
    openapi.install(app)
    app.add_middleware(RefuseNul)
    return app
