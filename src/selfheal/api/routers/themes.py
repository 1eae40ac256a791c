"""Ticket themes of a window, and which embedding produced them."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from selfheal.api.deps import Services, require, services
from selfheal.auth import Principal, Role
from selfheal.embedding import dense_available
from selfheal.observe import observe
from selfheal.observe.themes import prepare_themes
from selfheal.reason import ReasonContext, reason
from selfheal.reason.model import ThemeGroup, TicketFlood, TicketTheme
from selfheal.records import utcnow
from selfheal.signals import AsOf, as_utc

router = APIRouter(tags=["themes"])


class ThemesView(BaseModel):
    as_of: datetime
    window_minutes: int
    embedding_model: str | None
    dense_available: bool
    """Whether the dense sentence model is installed (the `embed` extra)."""
    dense_enabled: bool
    tickets: int
    unassigned_tickets: int
    themes: list[TicketTheme]
    groups: list[ThemeGroup] = []
    """Coarse level: each theme's `group_id` names one of these."""
    floods: list[TicketFlood] = []
    """Many copies of one text, kept out of the themes."""


def _themes(svc: Services, as_of: datetime, window_minutes: int) -> ThemesView:
    obs = observe(svc.store, as_of, window_minutes, svc.settings)
    theme_input = prepare_themes(svc.store, obs.as_of, window_minutes, svc.settings)
    findings = reason(obs, ReasonContext(settings=svc.settings, themes=theme_input))
    return ThemesView(
        as_of=obs.as_of,
        window_minutes=window_minutes,
        embedding_model=findings.embedding_model,
        dense_available=dense_available(),
        dense_enabled=svc.settings.dense_embeddings,
        tickets=len(obs.tickets),
        unassigned_tickets=findings.unassigned_tickets,
        themes=list(findings.themes),
        groups=list(findings.theme_groups),
        floods=list(findings.ticket_floods),
    )


@router.get("/themes")
@router.get("/clusters", deprecated=True, summary="Get Themes (alias of GET /themes)")
async def get_themes(
    as_of: AsOf | None = Query(None, description="End of the window (ISO 8601); default now"),
    window_minutes: int = Query(60, ge=1, le=7 * 24 * 60),
    svc: Services = Depends(services),
    _: Principal = Depends(require(Role.viewer)),
) -> ThemesView:
    """Ticket themes of the window ending at `as_of` (with trend over the earlier windows and links to the
    window's anomalies), their groups (coarse level), floods of copied text, how many tickets are unassigned, and which embedding is active. Theme ids are the
    ones the cycles keep; this read does not change them (new tickets' vectors are stored, though)."""
    moment = as_utc(as_of) if as_of else utcnow()
    return await run_in_threadpool(_themes, svc, moment, window_minutes)
