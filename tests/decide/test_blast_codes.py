"""The blast radius of a cause about exact status codes counts those codes: an auth fault's 401s place a merchant,
another merchant's ordinary 422s on the same endpoint (same 4xx class) do not. Rollup rows whose code is unknown
(stored before the rollups kept codes) count by their class, as before."""

from __future__ import annotations

from datetime import timedelta

from kit import AS_OF, WINDOW, anomaly, api_rollup, baseline, metrics, observation

from selfheal.decide import assess
from selfheal.decide.catalogue import HYPOTHESES
from selfheal.decide.model import Category
from selfheal.observe.model import Observation, RollupColumns, error_codes_of
from selfheal.reason.model import Anomaly, Findings
from selfheal.settings import Settings
from selfheal.signals import ROLLUP_STATUS_CODES

SETTINGS = Settings(data_dir="/nonexistent", database_url="sqlite://")
CHECKOUT = "POST /api/checkout"
START = AS_OF - timedelta(minutes=WINDOW)
# (merchant, stage, requests a minute, failed a minute, their code, orders a minute); conversion 0.5 before.
SHOPS = (
    ("A", "wave_1", 20, 6, "401", 7),  # hit by the auth fault
    ("H", "wave_1", 20, 4, "422", 10),  # ordinary validation errors, orders as usual
    ("E", "legacy", 20, 0, "", 10),
)


def _world(codes_known: bool) -> Observation:
    rows, bases, rollups = [], [], []
    for merchant, stage, per_minute, failed, code, orders in SHOPS:
        rows += metrics(merchant, stage, [per_minute] * WINDOW, [orders] * WINDOW, 50.0)
        bases.append(baseline(merchant, stage, per_minute * 1440, per_minute * 720, per_minute * 720 * 50.0))
        for i in range(WINDOW):
            minute = START + timedelta(minutes=i)
            rollups.append(api_rollup(merchant, stage, minute, "2xx", per_minute - failed, CHECKOUT, "2xx"))
            if failed:
                known = code if codes_known else ""
                rollups.append(api_rollup(merchant, stage, minute, "4xx", failed, CHECKOUT, known))
    obs = observation(rows, bases, {m: s for m, s, *_ in SHOPS})
    columns = RollupColumns.from_rows(rollups)
    return obs.model_copy(update={"rollups": columns, "error_codes": error_codes_of(columns)})


def _auth_anomaly() -> Anomaly:
    # The detector tests the 4xx class: it names both merchants whose 4xx rate stands out.
    a = anomaly(
        "auth", "error_rate", endpoint=CHECKOUT, status="4xx", stages=("wave_1",), merchants=("A", "H")
    )
    return a.model_copy(update={"dimensions": a.dimensions.model_copy(update={"sources": ("api",)})})


def _hit(codes_known: bool) -> set[str]:
    a = assess(_world(codes_known), Findings(anomalies=(_auth_anomaly(),)), SETTINGS)
    assert a is not None and a.root_cause.category == Category.api_auth
    return {m.merchant_id for m in a.blast_radius.merchants}


def test_an_auth_fault_counts_401s_not_another_merchants_422s() -> None:
    assert _hit(codes_known=True) == {"A"}


def test_without_codes_the_status_class_decides_as_before() -> None:
    # The same requests stored before the rollups kept codes: both merchants' 4xx lean to the fault.
    assert _hit(codes_known=False) == {"A", "H"}


def test_every_code_a_cause_is_about_is_kept_apart_in_the_rollups() -> None:
    # A code the catalogue asks for but the rollups fold into its class would never count for its cause.
    asked = {c for h in HYPOTHESES for rule in h.rules for c in rule.when.codes}
    assert asked and asked <= ROLLUP_STATUS_CODES
