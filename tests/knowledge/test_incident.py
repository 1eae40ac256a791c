from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from selfheal.cycle import CycleDeps, run_cycle
from selfheal.knowledge.base import KnowledgeBase
from selfheal.knowledge.starter import load_starter_runbooks
from selfheal.observe.model import ErrorCodeCount
from selfheal.reason.model import (
    Anomaly,
    AnomalyKind,
    Dimensions,
    Findings,
    RepresentativeTicket,
    Severity,
    SoftFailureGap,
    TicketTheme,
)
from selfheal.reason.runbooks import (
    WindowEvidence,
    attach_runbooks,
    build_incident_query,
    incident_codes,
    incident_scope,
    passage_codes,
)
from selfheal.settings import Settings
from selfheal.signals import LogEvent, Ticket
from selfheal.store import Store, signals_repo

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _anomaly(
    endpoint: str, code: str, metric: str = "error_rate", severity: Severity = Severity.high
) -> Anomaly:
    return Anomaly(
        id=f"a-{endpoint}-{code}",
        kind=AnomalyKind.hard,
        severity=severity,
        score=0.9,
        method="test",
        series=f"error rate {endpoint} {code}",
        metric=metric,
        onset=T0,
        observed=0.4,
        expected=0.01,
        dimensions=Dimensions(endpoints=(endpoint,), status_codes=(code,), sources=("api",)),
    )


def test_query_built_from_findings() -> None:
    findings = Findings(
        anomalies=(
            _anomaly("POST /api/checkout", "401"),
            _anomaly("GET /api/cart", "409", severity=Severity.low),
        ),
        themes=(
            TicketTheme(
                id="t1",
                label="cannot check out",
                top_terms=("unauthorized", "logged", "checkout"),
                size=12,
                representatives=(RepresentativeTicket(ticket_id="x", subject="s", body="b"),),
            ),
        ),
    )
    query = build_incident_query(findings, hypothesis="API key rotated")
    assert query.startswith("API key rotated")
    assert "/api/checkout" in query
    assert "/api/cart" not in query  # a low-severity anomaly beside a high one is not the incident's
    assert "401" in query and "unauthorized" in query
    assert "logged" not in query  # a theme the window's tickets do not place in the incident
    only_low = Findings(anomalies=(_anomaly("GET /api/cart", "409", severity=Severity.low),))
    assert "/api/cart" in build_incident_query(only_low)  # without a stronger one it is described
    assert len(query.split()) == len({w.lower() for w in query.split()})
    assert build_incident_query(Findings()) == ""


def test_attach_runbooks_picks_the_matching_runbook(kb: KnowledgeBase) -> None:
    load_starter_runbooks(kb)
    cases = {
        "api-auth-401-403.md": Findings(anomalies=(_anomaly("POST /api/checkout", "401"),)),
        "payment-provider-errors.md": Findings(anomalies=(_anomaly("POST /payments/authorize", "503"),)),
        "cart-sync-mismatch.md": Findings(anomalies=(_anomaly("GET /api/cart", "409"),)),
        "checkout-latency.md": Findings(
            anomalies=(_anomaly("POST /api/checkout", "504", metric="latency_p95"),)
        ),
        "webhook-order-created-403.md": Findings(
            anomalies=(_anomaly("POST /webhooks/order-created", "403"),),
            soft_failures=(
                SoftFailureGap(
                    merchant_id="m1", migration_stage="wave_1", payments=10, missing_orders=9, rate=0.9
                ),
            ),
        ),
    }
    for expected, findings in cases.items():
        out = attach_runbooks(findings, kb, top=3)
        assert out.retrieval_query
        assert out.runbook_context[0].document == expected, (expected, out.retrieval_query)
        assert out.runbook_context[0].section
        assert out.runbook_context[0].score >= out.runbook_context[-1].score
    assert attach_runbooks(Findings(), kb, top=3).runbook_context == ()
    assert attach_runbooks(cases["cart-sync-mismatch.md"], None, top=3).runbook_context == ()


def test_cycle_attaches_runbook_context(kb: KnowledgeBase, store: Store, settings: Settings) -> None:
    load_starter_runbooks(kb)
    events = []
    for i in range(20):
        ts = T0 - timedelta(minutes=50) + timedelta(minutes=i)
        cid = f"c{i}"
        events.append(
            LogEvent(
                ts=ts,
                merchant_id="m1",
                source="payment",
                endpoint="POST /payments/capture",
                status_code=200,
                event="payment.succeeded",
                correlation_id=cid,
                migration_stage="wave_1",
            )
        )
        if i % 4 == 0:
            events.append(
                LogEvent(
                    ts=ts + timedelta(seconds=5),
                    merchant_id="m1",
                    source="webhook",
                    endpoint="POST /webhooks/order-created",
                    status_code=200,
                    event="order.created",
                    correlation_id=cid,
                    migration_stage="wave_1",
                )
            )
    with store.transaction() as conn:
        signals_repo.store_logs(conn, events)
    result = run_cycle(CycleDeps(store=store, settings=settings, retriever=kb), as_of=T0, window_minutes=60)
    findings = result.findings
    assert findings.soft_failures
    assert findings.retrieval_query and "order" in findings.retrieval_query
    assert findings.runbook_context
    assert findings.runbook_context[0].document.startswith("webhook-order-created")


def _ticket(tid: str, merchant: str, stage: str, minutes: int, subject: str, body: str) -> Ticket:
    return Ticket(
        id=tid,
        created_at=T0 + timedelta(minutes=minutes),
        merchant_id=merchant,
        subject=subject,
        body=body,
        migration_stage=stage,
    )


def _webhook_403_findings() -> tuple[Findings, WindowEvidence]:
    """A 4xx webhook anomaly on wave_1 (its exact code, 403, known only from the window's failed requests),
    one theme of wave_1 tickets after the onset and one theme of tickets from elsewhere."""
    anomaly = _anomaly("POST /webhooks/order-created", "4xx").model_copy(
        update={
            "dimensions": Dimensions(
                sources=("webhook",),
                endpoints=("POST /webhooks/order-created",),
                status_codes=("4xx",),
                stages=("wave_1",),
                merchants=("m1", "m2"),
            )
        }
    )
    ours = [
        _ticket(f"o{i}", f"m{1 + i % 2}", "wave_1", 5 + i, "Charged but no order", "paid") for i in range(4)
    ]
    theirs = [
        _ticket(
            f"x{i}", f"m{10 + i}", "legacy", -30 + 10 * i, "How to update product images", "coffee grinder"
        )
        for i in range(5)
    ]
    themes = (
        TicketTheme(
            id="t-ours",
            label="charged / no order",
            top_terms=("charged", "confirmation"),
            size=4,
            representatives=(
                RepresentativeTicket(ticket_id="o0", subject="Charged but no order", body="paid"),
            ),
            ticket_ids=tuple(t.id for t in ours),
            merchants=("m1", "m2"),
            stages=("wave_1",),
        ),
        TicketTheme(
            id="t-theirs",
            label="product images / update",
            top_terms=("grinder", "images", "654654"),
            size=5,
            representatives=(RepresentativeTicket(ticket_id="x0", subject="images", body="coffee grinder"),),
            ticket_ids=tuple(t.id for t in theirs),
            merchants=tuple(t.merchant_id for t in theirs),
            stages=("legacy",),
        ),
    )
    window = WindowEvidence(
        tickets=(*ours, *theirs),
        error_codes=(
            ErrorCodeCount(
                source="webhook", endpoint="POST /webhooks/order-created", status_code="403", count=40
            ),
            ErrorCodeCount(
                source="webhook", endpoint="POST /webhooks/order-created", status_code="404", count=1
            ),
        ),
        attempts={"m1": 50, "m2": 50, **{f"m{10 + i}": 200 for i in range(10)}},
        merchant_stages={"m1": "wave_1", "m2": "wave_1", **{f"m{10 + i}": "legacy" for i in range(10)}},
    )
    return Findings(anomalies=(anomaly,), themes=themes), window


def test_query_names_the_exact_code_and_only_the_incidents_themes() -> None:
    findings, window = _webhook_403_findings()
    query = build_incident_query(findings, window=window)
    words = query.lower().split()
    assert words[0] == "403"  # the exact code, from the failed requests, named first
    assert "404" not in words  # a stray code under the dominance share is not the incident's
    assert "charged" in words and "confirmation" in words  # wave_1's tickets after the onset
    for unrelated in ("grinder", "images", "654654", "product"):
        assert unrelated not in words, query
    # Without the window's tickets no theme can be placed, so none is added.
    assert "charged" not in build_incident_query(findings).lower().split()


def test_an_exact_code_outranks_a_neighbouring_runbook(kb: KnowledgeBase) -> None:
    load_starter_runbooks(kb)
    findings, window = _webhook_403_findings()
    out = attach_runbooks(findings, kb, top=5, window=window)
    assert out.runbook_context[0].document == "webhook-order-created-403.md"
    assert passage_codes(out.runbook_context[0]) >= {"403"}
    # Re-ranking: a passage naming only other codes loses to one naming the incident's code.
    docs = [p.document for p in out.runbook_context]
    assert docs.index("webhook-order-created-403.md") < min(
        (docs.index(d) for d in docs if d == "webhook-order-created-500.md"), default=len(docs)
    )


def test_simulated_403_incident_cites_the_403_runbook_first(tmp_path: Path) -> None:
    """The issue's case end to end: a simulated 403 webhook fault, the starter runbooks, whole cycles."""
    from selfheal.knowledge.base import knowledge_base
    from selfheal.simulate import FaultSpec, SimConfig, load_into, simulate

    start = datetime(2024, 3, 4, tzinfo=UTC)
    onset = start + timedelta(hours=8)
    config = SimConfig(
        seed=0,
        merchants=40,
        start=start,
        minutes=9 * 60,
        logs_from=onset - timedelta(hours=2),
        faults=(FaultSpec(name="webhook_403", start=onset, duration_minutes=60, stages=("pilot",)),),
    )
    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 's.db'}", dense_embeddings=False
    )
    store = Store.open(settings.resolved_database_url())
    load_into(store, simulate(config))
    load_starter_runbooks(knowledge_base(store, settings))
    deps = CycleDeps(store=store, settings=settings)
    for minutes in (30, 60):
        result = run_cycle(deps, as_of=onset + timedelta(minutes=minutes), window_minutes=60)
        findings = result.findings
        assert findings.runbook_context[0].document == "webhook-order-created-403.md", (
            findings.retrieval_query
        )
        query = (findings.retrieval_query or "").lower().split()
        assert "403" in query
        scope = incident_scope(findings)
        for theme in findings.themes:
            if not set(theme.stages) & scope.stages and not set(theme.merchants) & scope.merchants:
                # A theme with no ticket where the incident is contributes no word of its own.
                own = set(theme.top_terms) - {
                    w for t in findings.themes if t is not theme for w in t.top_terms
                }
                assert not own & set(query), (theme.label, findings.retrieval_query)
    store.dispose()


def test_a_mild_error_anomaly_where_the_incident_is_still_names_its_code(kb: KnowledgeBase) -> None:
    """The orders collapse (high) on wave_1 while the webhook 4xx anomaly at two of its merchants scores only
    low: its exact code, 403, still leads the query and the 403 runbook is cited first. A low 4xx anomaly
    elsewhere (another stage, other merchants) adds no code."""
    load_starter_runbooks(kb)
    findings, window = _webhook_403_findings()
    webhook = findings.anomalies[0].model_copy(update={"severity": Severity.low})
    orders = _anomaly("", "", metric="payments_without_order_rate").model_copy(
        update={
            "id": "a-orders",
            "dimensions": Dimensions(
                endpoints=("payment.succeeded", "order.created"), stages=("wave_1",), merchants=("m1", "m2")
            ),
        }
    )
    elsewhere = _anomaly("POST /api/checkout", "4xx", severity=Severity.low).model_copy(
        update={
            "dimensions": Dimensions(
                endpoints=("POST /api/checkout",), status_codes=("401",), stages=("legacy",)
            )
        }
    )
    mild = findings.model_copy(update={"anomalies": (orders, webhook, elsewhere)})
    assert incident_codes(mild, window.error_codes) == ("403",)
    assert build_incident_query(mild, window=window).split()[0] == "403"
    out = attach_runbooks(mild, kb, top=5, window=window)
    assert out.runbook_context[0].document == "webhook-order-created-403.md"
    # Without the in-scope mild anomaly, nothing names a code (the previous behaviour's blind spot).
    assert (
        incident_codes(mild.model_copy(update={"anomalies": (orders, elsewhere)}), window.error_codes) == ()
    )
