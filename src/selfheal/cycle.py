"""One agent cycle, top to bottom: observe -> reason -> decide -> act.

`as_of` makes a cycle replayable over stored history; nothing here waits for the wall clock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from selfheal import audit
from selfheal.act import act, execute_auto
from selfheal.act.model import Outcome
from selfheal.act.recovery import recover
from selfheal.act.themes import remember_themes
from selfheal.decide import decide
from selfheal.decide.model import Assessment
from selfheal.decide.notify import plan_notices
from selfheal.decide.plan import plan_decision
from selfheal.decide.plan_model import Decision, IncidentPlan, Notice
from selfheal.knowledge.base import knowledge_base
from selfheal.narrate import narrate
from selfheal.notify.worker import Notifier
from selfheal.observe import observe
from selfheal.observe.incidents import read_open_incidents
from selfheal.observe.model import Observation
from selfheal.observe.summary import ObservationSummary, summarize
from selfheal.observe.themes import prepare_themes
from selfheal.reason import ReasonContext, reason
from selfheal.reason.model import Findings
from selfheal.reason.runbooks import RunbookRetriever
from selfheal.records import Record, dt_to_ms, utcnow
from selfheal.settings import Settings
from selfheal.store import Store, incidents_repo, locks
from selfheal.store.signals_repo import prune_pairing_events, prune_raw_logs


@dataclass(frozen=True)
class CycleDeps:
    store: Store
    settings: Settings
    retriever: RunbookRetriever | None = None
    """Runbook retriever for the reason stage; None: the store's own knowledge base."""
    notifier: Notifier | None = None
    """Background notification delivery, kicked after the cycle commits; None: the notifications the cycle
    queues wait for a running delivery worker (or `selfheal notify deliver`)."""


class CycleResult(Record):
    cycle_id: str
    as_of: datetime
    window_minutes: int
    use_llm: bool
    observation: ObservationSummary
    findings: Findings
    assessment: Assessment | None
    plan: IncidentPlan
    """What the cycle did to incidents: the one it opened or continued, every open incident's step."""
    notices: tuple[Notice, ...] = ()
    """The notifications the plan called for and their receivers (queued in the outbox; a receiver gets
    each notice of an incident once)."""
    outcome: Outcome
    recovered: tuple[str, ...] = ()
    """Automatic actions a stopped process left behind that this cycle executed or resumed."""
    stage_ms: dict[str, float]


@contextmanager
def _stage(timings: dict[str, float], name: str) -> Iterator[None]:
    """Time the block into `timings[name]` (milliseconds)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = (time.perf_counter() - started) * 1000


def run_cycle(
    deps: CycleDeps,
    as_of: datetime | None = None,
    window_minutes: int | None = None,
    use_llm: bool = False,
    actor: str = "system",
    actor_key: str | None = None,
) -> CycleResult:
    """One cycle as of `as_of` (now) over `window_minutes`. `actor` (and `actor_key`, the API key of a cycle
    run through the API) is who requested it: the requester of the actions it proposes."""
    window = window_minutes or deps.settings.window_minutes
    timings: dict[str, float] = {}
    started = time.perf_counter()
    with _stage(timings, "observe"):
        obs = observe(deps.store, as_of or utcnow(), window, deps.settings)
    with _stage(timings, "embed"):
        theme_input = prepare_themes(deps.store, obs.as_of, window, deps.settings)
    with _stage(timings, "reason"):
        retriever = deps.retriever or knowledge_base(deps.store, deps.settings)
        findings = reason(obs, ReasonContext(settings=deps.settings, themes=theme_input, retriever=retriever))
    with _stage(timings, "decide"):
        decision = decide(obs, findings, deps.settings)
    with _stage(timings, "narrate"):
        assessment, narrative_note = narrate(decision.assessment, findings, deps.settings, use_llm)
        decision = decision.model_copy(update={"assessment": assessment})

    summary = summarize(obs)
    cycle_id = incidents_repo.new_id("cyc")
    with deps.store.transaction() as conn:
        with _stage(timings, "act"):
            decision = _replan_under_lock(conn, obs, findings, decision, deps.settings)
            outcome = act(
                conn,
                decision=decision,
                findings=findings,
                summary=summary,
                actor=actor,
                settings=deps.settings,
                actor_key=actor_key,
            )
            remember_themes(conn, theme_input, findings.themes, findings.embedding_model)
        timings["total"] = (time.perf_counter() - started) * 1000
        _record_cycle(
            conn, deps, cycle_id, summary, findings, outcome, timings, use_llm, narrative_note, actor
        )
    if deps.notifier is not None and outcome.notifications:
        deps.notifier.kick()
    outcome = execute_auto(deps.store, deps.settings, outcome)
    recovered = recover(deps.store, deps.settings)
    return CycleResult(
        cycle_id=cycle_id,
        as_of=obs.as_of,
        window_minutes=window,
        use_llm=use_llm,
        observation=summary,
        findings=findings,
        assessment=assessment,
        plan=decision.plan,
        notices=decision.notices,
        outcome=outcome,
        recovered=tuple(a.id for a in recovered),
        stage_ms=timings,
    )


def _replan_under_lock(
    conn: Connection, obs: Observation, findings: Findings, decision: Decision, settings: Settings
) -> Decision:
    """Serialise incident planning across concurrent cycles (processes, hosts): take the plan lock in the
    cycle's transaction, re-read the open incidents, and plan again (decide's pure planner) if another
    cycle changed them since observe read them. So N concurrent cycles open one incident per cause, and an
    action already live on it is not stored (and auto-executed) again. The assessment does not depend on
    the open incidents and is kept as narrated."""
    locks.lock_in_transaction(conn, locks.CYCLE_PLAN)
    current = read_open_incidents(conn)
    if current == obs.open_incidents:
        return decision
    seen = obs.model_copy(update={"open_incidents": current})
    decision = plan_decision(seen, decision.assessment, findings, settings)
    return decision.model_copy(
        update={"notices": plan_notices(seen, decision.assessment, decision.plan, settings)}
    )


def _record_cycle(
    conn: Connection,
    deps: CycleDeps,
    cycle_id: str,
    summary: ObservationSummary,
    findings: Findings,
    outcome: Outcome,
    timings: dict[str, float],
    use_llm: bool,
    narrative_note: str | None,
    actor: str,
) -> None:
    """Store the cycle run, prune raw logs past retention and audit the cycle (in the cycle's transaction)."""
    incidents_repo.insert_cycle_run(
        conn,
        {
            "id": cycle_id,
            "started_ms": dt_to_ms(utcnow()),
            "as_of_ms": dt_to_ms(summary.as_of),
            "window_minutes": summary.window_minutes,
            "use_llm": int(use_llm),
            "incident_id": outcome.incident_id,
            "duration_ms": timings["total"],
            "stage_ms": timings,
            "summary": {
                "anomalies": len(findings.anomalies),
                "soft_failures": len(findings.soft_failures),
                "themes": len(findings.themes),
                "narrative": narrative_note,
                "unknown_merchants": list(summary.unknown_merchants),
            },
        },
    )
    retention_ms = deps.settings.raw_log_retention_days * 86_400_000
    # Retention counts back from the earlier of as_of and the wall clock: a replay (or a mistyped future
    # as_of) never deletes what the present still keeps.
    present_ms = min(dt_to_ms(summary.as_of), dt_to_ms(utcnow()))
    pruned = prune_raw_logs(conn, present_ms - retention_ms)
    pairing_pruned = prune_pairing_events(
        conn, present_ms - deps.settings.pairing_retention_days * 86_400_000
    )
    audit.record(
        conn,
        actor=actor,
        action="cycle.run",
        target_type="cycle",
        target_id=cycle_id,
        after={
            "as_of": summary.as_of.isoformat(),
            "window_minutes": summary.window_minutes,
            "incident_id": outcome.incident_id,
            "raw_log_events_pruned": pruned,
            "pairing_events_pruned": pairing_pruned,
        },
    )
