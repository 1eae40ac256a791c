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
    cycles,
    health,
    incidents,
    ingest,
    keys,
    runbooks,
    series,
    themes,
    whoami,
)
from selfheal.settings import Settings
from selfheal.store import Store


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    settings = settings or Settings()
    owns_store = store is None
    store = store or Store.open(settings.resolved_database_url())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_store:
            store.dispose()

    app = FastAPI(
        title="selfheal",
        version=__version__,
        description="Self-healing support layer: observe -> reason -> decide -> act.",
        lifespan=lifespan,
    )
    app.state.services = Services(settings=settings, store=store)
    errors.install(app)
    routers = (
        health,
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
    )
    for module in routers:
        app.include_router(module.router)
    app.include_router(runbooks.router, prefix="/runbooks")
    app.include_router(runbooks.router, prefix="/rag", deprecated=True)  # the name before /runbooks
    openapi.install(app)
    app.add_middleware(RefuseNul)
    return app
