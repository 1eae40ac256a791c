"""Variant families of the simulator: how signals look changes, what happened does not; decoys cost nothing
the truth blames on a platform fault."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from selfheal.simulate import FaultSpec, SignalVariant, SimConfig, SimResult, simulate

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _run(faults: tuple[FaultSpec, ...] = (), **kw: object) -> SimResult:
    return simulate(SimConfig(seed=5, merchants=16, start=T0, minutes=40, faults=faults, **kw))  # type: ignore[arg-type]


def _fault(name: str, **kw: object) -> FaultSpec:
    return FaultSpec(
        name=name, start=T0 + timedelta(minutes=10), duration_minutes=30, stages=("wave_1", "pilot"), **kw
    )  # type: ignore[arg-type]


def test_a_signal_variant_changes_names_stages_and_tickets_but_not_what_happened() -> None:
    fault = (_fault("payment_provider_errors"),)
    plain = _run(fault)
    variant = SignalVariant(
        endpoint_scheme="graphql", stage_on_payment_logs=False, tickets="none", log_offset_seconds=60
    )
    seen = _run(fault, variant=variant)
    assert seen.metrics == plain.metrics and seen.truth == plain.truth
    assert {e.endpoint for e in seen.logs if e.source == "api"} == {"POST /graphql"}
    assert all(e.migration_stage is None for e in seen.logs if e.source == "payment")
    assert not [t for t in seen.tickets if t.tags != ["general"]]
    assert [t for t in plain.tickets if t.tags != ["general"]]
    pay = [e.ts for e in plain.logs if e.source == "payment"][:5]
    assert sorted(e.ts for e in seen.logs if e.source == "payment")[:5] == [
        t + timedelta(seconds=60) for t in sorted(pay)
    ]


def test_status_mix_and_cart_spread_of_an_auth_fault() -> None:
    r = _run((_fault("api_auth_401", statuses=(401, 403), also_cart=True),))
    checkout = {
        e.status_code for e in r.logs if e.endpoint == "POST /api/checkout" and e.status_code in (401, 403)
    }
    cart = {e.status_code for e in r.logs if e.endpoint == "GET /api/cart" and e.status_code in (401, 403)}
    assert checkout == {401, 403} and cart == {401, 403}
    assert r.truth.faults[0].lost_orders > 0


def test_ramped_onset_fails_less_at_first() -> None:
    sharp = _run((_fault("webhook_500"),))
    ramp = _run((_fault("webhook_500", ramp_minutes=20),))

    def early(r: SimResult) -> int:
        cut = T0 + timedelta(minutes=20)
        return sum(1 for e in r.logs if e.source == "webhook" and e.status_code >= 500 and e.ts < cut)

    assert early(ramp) < early(sharp) / 2
    assert 0 < ramp.truth.faults[0].lost_orders < sharp.truth.faults[0].lost_orders


def test_decoys_cost_no_platform_fault() -> None:
    r = _run(
        (
            FaultSpec(
                name="marketing_spike",
                start=T0 + timedelta(minutes=10),
                duration_minutes=30,
                stages=("wave_1",),
            ),
        )
    )
    base = _run()
    wave1 = {m.id for m in r.truth.merchants if m.stage == "wave_1"}

    def sessions(x: SimResult) -> int:
        return sum(m.sessions or 0 for m in x.metrics if m.merchant_id in wave1)

    assert sessions(r) > 1.8 * sessions(base)
    assert r.truth.faults[0].category == "decoy"
    down = max(r.truth.merchants, key=lambda m: m.attempts_per_minute)
    out = _run((FaultSpec(name="merchant_own_outage", start=T0, duration_minutes=40, merchants=(down.id,)),))
    assert sum(m.checkout_attempts for m in out.metrics if m.merchant_id == down.id) == 0


def test_traffic_skew_concentrates_orders() -> None:
    even = _run()
    skewed = _run(traffic_sigma=1.6)

    def top_share(r: SimResult) -> float:
        rates = [m.attempts_per_minute for m in r.truth.merchants]
        return max(rates) / sum(rates)

    assert top_share(skewed) > top_share(even)
