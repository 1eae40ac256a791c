"""Alertmanager alerts as evidence of an assessment: listed when they name its stages or merchants at risk,
never moving the decision."""

from __future__ import annotations

from datetime import timedelta

from kit import AS_OF, SIGNATURES, baseline, metrics, observation

from selfheal.decide import assess
from selfheal.decide.model import EvidenceKind
from selfheal.observe.model import ActiveAlert
from selfheal.reason.model import Findings
from selfheal.settings import Settings

SETTINGS = Settings(data_dir="/nonexistent", database_url="sqlite://")


def _alert(fingerprint: str, merchant: str | None, stage: str | None) -> ActiveAlert:
    return ActiveAlert(
        fingerprint=fingerprint,
        alertname="CheckoutErrors",
        status="firing",
        starts_at=AS_OF - timedelta(minutes=30),
        ends_at=None,
        severity="critical",
        merchant_id=merchant,
        migration_stage=stage,
        summary="checkout 4xx above 5%",
    )


def test_alerts_on_the_incident_stage_or_merchants_are_evidence() -> None:
    rows = metrics("A", "wave_1", [2] * 60, [1] * 60, 50.0) + metrics("B", "legacy", [2] * 60, [1] * 60, 40.0)
    bases = [baseline("A", "wave_1", 1000, 600, 30000.0), baseline("B", "legacy", 1000, 600, 24000.0)]
    obs = observation(rows, bases, {"A": "wave_1", "B": "legacy"})
    findings = Findings(
        anomalies=tuple(
            a.model_copy(update={"dimensions": a.dimensions.model_copy(update={"merchants": ("A",)})})
            for a in SIGNATURES["api_auth"]
        )
    )
    plain = assess(obs, findings, SETTINGS)
    alerts = (
        _alert("f-stage", None, "wave_1"),
        _alert("f-merchant", "A", None),
        _alert("f-other", "B", "legacy"),
    )
    with_alerts = assess(obs.model_copy(update={"alerts": alerts}), findings, SETTINGS)
    assert plain is not None and with_alerts is not None
    shown = [e for e in with_alerts.evidence if e.kind == EvidenceKind.alert]
    assert {e.source_id.split("@")[0] for e in shown} == {"alert:f-stage", "alert:f-merchant"}
    assert all(e.weight == 0.0 and "CheckoutErrors" in e.text for e in shown)
    # the decision is the same with or without the alerts
    assert with_alerts.root_cause == plain.root_cause
    assert with_alerts.blast_radius == plain.blast_radius
    assert with_alerts.actions == plain.actions
