"""One agent cycle, top to bottom: observe -> reason -> decide -> act.

`as_of` makes a cycle replayable over stored history; nothing here waits for the wall clock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from selfheal import audit
from selfheal.act import act, execute_auto
from selfheal.act.model import Outcome
from selfheal.act.themes import remember_themes
from selfheal.decide import decide
from selfheal.decide.model import Assessment
from selfheal.knowledge.base import knowledge_base
from selfheal.narrate import narrate
from selfheal.observe import observe
from selfheal.observe.summary import ObservationSummary, summarize
from selfheal.observe.themes import prepare_themes
from selfheal.reason import ReasonContext, reason
from selfheal.reason.model import Findings
from selfheal.reason.runbooks import RunbookRetriever
from selfheal.records import Record, dt_to_ms, utcnow
from selfheal.settings import Settings
from selfheal.store import Store, incidents_repo
from selfheal.store.signals_repo import prune_raw_logs


@dataclass(frozen=True)
class CycleDeps:
    store: Store
    settings: Settings
    retriever: RunbookRetriever | None = None
    """Runbook retriever for the reason stage; None: the store's own knowledge base."""


class CycleResult(Record):
    cycle_id: str
    as_of: datetime
    window_minutes: int
    use_llm: bool
    observation: ObservationSummary
    findings: Findings
    assessment: Assessment | None
    outcome: Outcome
    stage_ms: dict[str, float]


def run_cycle(
    deps: CycleDeps,
    as_of: datetime | None = None,
    window_minutes: int | None = None,
    use_llm: bool = False,
    actor: str = "system",
) -> CycleResult:
    as_of = as_of or utcnow()
    window = window_minutes or deps.settings.window_minutes
    timings: dict[str, float] = {}
    started = time.perf_counter()

    t = time.perf_counter()
    obs = observe(deps.store, as_of, window, deps.settings)
    timings["observe"] = (time.perf_counter() - t) * 1000

    t = time.perf_counter()
    theme_input = prepare_themes(deps.store, obs.as_of, window, deps.settings)
    timings["embed"] = (time.perf_counter() - t) * 1000

    t = time.perf_counter()
    retriever = deps.retriever or knowledge_base(deps.store, deps.settings)
    findings = reason(obs, ReasonContext(settings=deps.settings, themes=theme_input, retriever=retriever))
    timings["reason"] = (time.perf_counter() - t) * 1000

    t = time.perf_counter()
    assessment = decide(obs, findings, deps.settings)
    timings["decide"] = (time.perf_counter() - t) * 1000

    t = time.perf_counter()
    assessment, narrative_note = narrate(assessment, findings, deps.settings, use_llm)
    timings["narrate"] = (time.perf_counter() - t) * 1000

    summary = summarize(obs)
    cycle_id = incidents_repo.new_id("cyc")
    t = time.perf_counter()
    with deps.store.transaction() as conn:
        outcome = act(
            conn,
            assessment=assessment,
            findings=findings,
            summary=summary,
            actor=actor,
            settings=deps.settings,
            obs=obs,
        )
        remember_themes(conn, theme_input, findings.themes, findings.embedding_model)
        timings["act"] = (time.perf_counter() - t) * 1000
        timings["total"] = (time.perf_counter() - started) * 1000
        incidents_repo.insert_cycle_run(
            conn,
            {
                "id": cycle_id,
                "started_ms": dt_to_ms(utcnow()),
                "as_of_ms": dt_to_ms(obs.as_of),
                "window_minutes": window,
                "use_llm": int(use_llm),
                "incident_id": outcome.incident_id,
                "duration_ms": timings["total"],
                "stage_ms": timings,
                "summary": {
                    "anomalies": len(findings.anomalies),
                    "soft_failures": len(findings.soft_failures),
                    "themes": len(findings.themes),
                    "narrative": narrative_note,
                },
            },
        )
        retention_ms = deps.settings.raw_log_retention_days * 86_400_000
        pruned = prune_raw_logs(conn, dt_to_ms(obs.as_of) - retention_ms)
        audit.record(
            conn,
            actor=actor,
            action="cycle.run",
            target_type="cycle",
            target_id=cycle_id,
            after={
                "as_of": obs.as_of.isoformat(),
                "window_minutes": window,
                "incident_id": outcome.incident_id,
                "raw_log_events_pruned": pruned,
            },
        )
    outcome = execute_auto(deps.store, deps.settings, outcome)
    return CycleResult(
        cycle_id=cycle_id,
        as_of=obs.as_of,
        window_minutes=window,
        use_llm=use_llm,
        observation=summary,
        findings=findings,
        assessment=assessment,
        outcome=outcome,
        stage_ms=timings,
    )
