"""The hypothesis catalogue and the action catalogue: data, not code branches.

A hypothesis names a root-cause category and lists evidence rules. Each rule matches facts drawn from
the Findings (an anomaly, the soft-failure count, a ticket theme, a runbook passage) by their attributes,
and adds its weight (negative: the fact contradicts the hypothesis) times the fact's strength to the
hypothesis' score. Adding a root cause is adding one `Hypothesis` entry and its `ActionTemplate`s;
`docs/guide/decide.md` documents the format.
"""

from __future__ import annotations

from pydantic import Field

from selfheal.decide.model import Category, Risk
from selfheal.records import Record


class Match(Record):
    """What a fact must look like for a rule to apply; every given attribute must match.

    `signal`: anomaly | soft_failure | theme | runbook. Text attributes match as substrings
    (case-insensitive); `terms` needs at least `min_terms` of the terms in the fact's text.
    """

    signal: str
    kinds: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    endpoint: str | None = None
    source: str | None = None
    status_class: str | None = None
    terms: tuple[str, ...] = ()
    min_terms: int = 1
    earliest: bool = False
    """Only the hard anomaly with the earliest onset (the signal that moved first)."""
    roles: tuple[str, ...] = ()
    """What the failing requests are for (any of): order_webhook, payment, cart, checkout, storefront."""
    codes: tuple[int, ...] = ()
    """Exact status codes that must carry at least half the fact's failed requests (when codes are known)."""
    needs_codes: bool = False
    """Only facts whose exact status codes are known (for evidence that the status class alone cannot give)."""


class Rule(Record):
    when: Match
    weight: float = Field(description="Added to the score per unit of fact strength; negative contradicts")
    says: str = Field(description="Why this fact bears on the hypothesis, for the evidence list")
    locates: bool = Field(
        False, description="Facts matching this rule place the cause (its stages and merchants)"
    )


class Hypothesis(Record):
    category: Category
    hypothesis: str
    prior: float = 0.0
    rules: tuple[Rule, ...]
    restores: tuple[str, ...] = Field(
        (), description="KPIs a fix should bring back, checked after an action executes"
    )


class ActionTemplate(Record):
    key: str
    title: str
    description: str
    risk: Risk
    requires_approval: bool
    rationale: str
    expected_effect: str
    confidence_factor: float = Field(
        1.0, ge=0, le=1, description="Action confidence = root-cause confidence x this factor"
    )


def _anomaly(**kw: object) -> Match:
    return Match(signal="anomaly", **kw)  # type: ignore[arg-type]


ORDERS_DROP = _anomaly(
    metrics=("orders", "checkout_failure_rate", "non_conversion_rate", "orders_per_minute")
)
"""A business KPI fell: common to every category, so it only lifts them above `unknown`."""

API_ROLES = ("checkout", "cart", "storefront")
AUTH_CODES = (401, 403)
SYNC_CODES = (404, 409, 410, 412, 422)
TIMEOUT_CODES = (504, 408)

HYPOTHESES: tuple[Hypothesis, ...] = (
    Hypothesis(
        category=Category.webhook_delivery,
        hypothesis="The order-created webhook is being rejected, so payments succeed but no order is created",
        rules=(
            Rule(
                when=Match(signal="soft_failure"),
                weight=3.0,
                says="successful payments without order.created",
                locates=True,
            ),
            Rule(
                when=_anomaly(metrics=("payments_without_order_rate",)),
                weight=2.0,
                says="payments-without-order rate is anomalous",
                locates=True,
            ),
            Rule(
                when=_anomaly(metrics=("error_rate",), roles=("order_webhook",)),
                weight=3.0,
                says="order webhook deliveries are failing (4xx/5xx) while payments go through",
                locates=True,
            ),
            Rule(when=ORDERS_DROP, weight=0.5, says="orders fell while checkouts held"),
            Rule(
                when=Match(
                    signal="theme",
                    terms=(
                        "charged",
                        "no order",
                        "order missing",
                        "confirmation",
                        "paid",
                        "not created",
                        "debited",
                        "no record",
                        "statement",
                    ),
                    min_terms=2,
                ),
                weight=1.0,
                says="customers report being charged without an order",
            ),
            Rule(
                when=Match(signal="runbook", terms=("webhook", "signing secret", "order.created")),
                weight=0.3,
                says="runbook covers webhook delivery failures",
            ),
            Rule(
                when=_anomaly(metrics=("error_rate",), roles=("payment",)),
                weight=-1.5,
                says="payments themselves fail, so missing orders are not a webhook problem",
            ),
        ),
        restores=("orders", "payments_with_order"),
    ),
    Hypothesis(
        category=Category.api_auth,
        hypothesis="Storefront API credentials are rejected: checkout requests get 401/403",
        rules=(
            Rule(
                when=_anomaly(metrics=("error_rate",), roles=API_ROLES, status_class="4xx", codes=AUTH_CODES),
                weight=4.0,
                says="storefront API requests answered 401/403 (credentials rejected)",
                locates=True,
            ),
            Rule(
                when=_anomaly(metrics=("error_rate",), roles=("cart",), status_class="4xx", codes=SYNC_CODES),
                weight=-1.0,
                says="cart requests answered 404/409 are sync conflicts, not rejected credentials",
            ),
            Rule(when=ORDERS_DROP, weight=0.5, says="orders fell"),
            Rule(
                when=Match(
                    signal="theme",
                    terms=(
                        "unauthor",
                        "401",
                        "403",
                        "token",
                        "authentic",
                        "session",
                        "api key",
                        "forbidden",
                        "access denied",
                    ),
                    min_terms=1,
                ),
                weight=1.0,
                says="customers report authentication errors at checkout",
            ),
            Rule(
                when=Match(signal="runbook", terms=("401", "token", "api key", "credential")),
                weight=0.3,
                says="runbook covers API authentication failures",
            ),
            Rule(
                when=_anomaly(metrics=("latency_p95",), roles=("checkout", "storefront")),
                weight=-1.0,
                says="checkout is slow, which credentials do not explain",
            ),
        ),
        restores=("orders", "checkout_error_rate"),
    ),
    Hypothesis(
        category=Category.cart_sync,
        hypothesis="Carts are not synchronised between the storefront and the backend (conflicts, empty carts)",
        rules=(
            Rule(
                when=_anomaly(metrics=("error_rate",), roles=("cart",), status_class="4xx", codes=SYNC_CODES),
                weight=4.0,
                says="cart API answers 404/409 (cart missing or version conflict)",
                locates=True,
            ),
            Rule(
                when=_anomaly(
                    metrics=("error_rate",), roles=("storefront",), status_class="4xx", codes=SYNC_CODES
                ),
                weight=3.5,
                says="storefront API answers 404/409 (cart missing or version conflict)",
                locates=True,
            ),
            Rule(
                when=_anomaly(metrics=("error_rate",), roles=("cart",), status_class="5xx"),
                weight=2.0,
                says="cart API answers server errors",
                locates=True,
            ),
            Rule(
                when=_anomaly(
                    metrics=("error_rate",),
                    roles=API_ROLES,
                    status_class="4xx",
                    codes=AUTH_CODES,
                    needs_codes=True,
                ),
                weight=-2.0,
                says="requests are rejected as unauthorised (401/403), which a sync conflict does not explain",
            ),
            Rule(when=ORDERS_DROP, weight=0.5, says="orders fell (abandoned checkouts)"),
            Rule(
                when=Match(
                    signal="theme",
                    terms=("cart", "basket", "empty", "sync", "disappear", "vanish", "bag", "resets"),
                ),
                weight=1.0,
                says="customers report carts emptying",
            ),
            Rule(
                when=Match(signal="runbook", terms=("cart", "sync", "feature flag")),
                weight=0.3,
                says="runbook covers cart synchronisation",
            ),
        ),
        restores=("orders", "cart_error_rate"),
    ),
    Hypothesis(
        category=Category.checkout_latency,
        hypothesis="Checkout has become slow (upstream timeouts); shoppers abandon and some requests time out",
        rules=(
            Rule(
                when=_anomaly(metrics=("latency_p95",), roles=("checkout", "storefront")),
                weight=3.5,
                says="checkout latency far above its baseline",
                locates=True,
            ),
            Rule(
                when=_anomaly(
                    metrics=("error_rate",), roles=API_ROLES, status_class="5xx", codes=TIMEOUT_CODES
                ),
                weight=1.0,
                says="checkout requests time out (504)",
                locates=True,
            ),
            Rule(
                when=_anomaly(metrics=("latency_p95",), earliest=True),
                weight=0.5,
                says="latency moved first",
            ),
            Rule(when=ORDERS_DROP, weight=0.5, says="orders fell"),
            Rule(
                when=Match(
                    signal="theme",
                    terms=("slow", "timeout", "forever", "hang", "spinner", "504", "loading", "stuck"),
                ),
                weight=1.0,
                says="customers report a slow checkout",
            ),
            Rule(
                when=Match(signal="runbook", terms=("latency", "timeout", "slow")),
                weight=0.3,
                says="runbook covers checkout latency",
            ),
            Rule(
                when=_anomaly(
                    metrics=("error_rate",),
                    roles=API_ROLES,
                    status_class="4xx",
                    codes=AUTH_CODES,
                    needs_codes=True,
                ),
                weight=-1.0,
                says="checkout rejects requests (401/403), which slowness does not explain",
            ),
        ),
        restores=("orders", "checkout_latency_p95"),
    ),
    Hypothesis(
        category=Category.payment_provider,
        hypothesis="The payment provider is failing (5xx or timeouts on authorisation)",
        rules=(
            Rule(
                when=_anomaly(metrics=("error_rate",), roles=("payment",), status_class="5xx"),
                weight=3.5,
                says="payment authorisation answers 5xx / times out",
                locates=True,
            ),
            Rule(
                when=_anomaly(metrics=("latency_p95",), roles=("payment",)),
                weight=1.5,
                says="payment authorisation is slow (provider timeouts)",
                locates=True,
            ),
            Rule(when=ORDERS_DROP, weight=0.5, says="orders fell"),
            Rule(
                when=Match(
                    signal="theme",
                    terms=(
                        "payment failed",
                        "unavailable",
                        "provider",
                        "gateway",
                        "card",
                        "could not be processed",
                        "transaction error",
                    ),
                ),
                weight=1.0,
                says="customers report failing payments",
            ),
            Rule(
                when=Match(signal="runbook", terms=("payment provider", "psp", "failover")),
                weight=0.3,
                says="runbook covers payment provider outages",
            ),
            Rule(
                when=Match(signal="soft_failure"),
                weight=-1.0,
                says="payments succeed but orders are missing, which a provider outage does not explain",
            ),
        ),
        restores=("orders", "payment_error_rate"),
    ),
)
"""Hypotheses other than `unknown`; `unknown` scores `UNKNOWN_SCORE` and wins when nothing else fits."""

UNKNOWN_HYPOTHESIS = "The signals do not match a known root cause; investigate manually"
UNKNOWN_SCORE = 1.5
"""Score of the `unknown` hypothesis: a known cause must beat it, e.g. with one locating anomaly."""

TEMPERATURE = 0.6
"""Softmax temperature turning scores into confidences (checked for calibration by the scenario benchmark)."""


ACTIONS: dict[Category, tuple[ActionTemplate, ...]] = {
    Category.webhook_delivery: (
        ActionTemplate(
            key="rotate_webhook_secret",
            title="Rotate and re-share the webhook signing secret",
            description="Generate a new order-webhook signing secret and share it with the affected merchants' "
            "endpoints so signature verification passes again.",
            risk=Risk.medium,
            requires_approval=True,
            rationale="Rejected webhook deliveries (403) usually mean the receiver no longer accepts our "
            "signature after the migration.",
            expected_effect="order.created deliveries succeed again; new payments get their orders.",
            confidence_factor=0.8,
        ),
        ActionTemplate(
            key="replay_failed_webhooks",
            title="Replay failed order webhooks for the affected orders",
            description="Re-send the order-created webhook for every payment in the window that has no "
            "order.created (idempotent on the correlation id).",
            risk=Risk.low,
            requires_approval=False,
            rationale="The payments succeeded; replaying the webhook creates the missing orders.",
            expected_effect="Missing orders appear; the payment-to-order gap closes.",
        ),
        ActionTemplate(
            key="notify_merchants",
            title="Notify affected merchants",
            description="Tell the merchants in the blast radius that orders were delayed and are being "
            "recovered.",
            risk=Risk.low,
            requires_approval=False,
            rationale="Merchants see payments without orders and open tickets.",
            expected_effect="Fewer duplicate tickets; merchants hold fulfilment questions.",
        ),
    ),
    Category.api_auth: (
        ActionTemplate(
            key="reissue_api_credentials",
            title="Re-issue the storefront API access token",
            description="Issue a fresh storefront access token for the affected stages and roll it out to "
            "their headless storefronts.",
            risk=Risk.medium,
            requires_approval=True,
            rationale="Checkout requests are rejected as unauthorised: the token in use is invalid or expired.",
            expected_effect="Checkout 401s stop; orders return to baseline.",
            confidence_factor=0.8,
        ),
        ActionTemplate(
            key="notify_merchants",
            title="Notify affected merchants",
            description="Tell the merchants in the blast radius that checkout is failing and a fix is under way.",
            risk=Risk.low,
            requires_approval=False,
            rationale="Merchants' customers cannot check out.",
            expected_effect="Merchants are informed; fewer tickets.",
        ),
    ),
    Category.cart_sync: (
        ActionTemplate(
            key="rollback_stage_to_legacy",
            title="Route the affected stage back to the legacy checkout",
            description="Switch the migration feature flag so the affected stages use the legacy checkout "
            "until cart synchronisation is fixed.",
            risk=Risk.high,
            requires_approval=True,
            rationale="Carts are lost between the new storefront and the backend; the legacy path does not "
            "sync carts.",
            expected_effect="Cart errors stop and abandoned checkouts fall back to baseline.",
            confidence_factor=0.9,
        ),
        ActionTemplate(
            key="notify_merchants",
            title="Notify affected merchants",
            description="Tell the merchants in the blast radius that carts may empty at checkout.",
            risk=Risk.low,
            requires_approval=False,
            rationale="Shoppers lose their carts and complain to the merchants.",
            expected_effect="Merchants are informed; fewer tickets.",
        ),
    ),
    Category.checkout_latency: (
        ActionTemplate(
            key="scale_checkout",
            title="Scale out the checkout service",
            description="Add checkout capacity and raise the upstream timeout budget for the affected stages.",
            risk=Risk.medium,
            requires_approval=True,
            rationale="Checkout latency is far above baseline with upstream timeouts.",
            expected_effect="Checkout p95 latency returns to baseline; abandonment falls.",
            confidence_factor=0.7,
        ),
        ActionTemplate(
            key="rollback_stage_to_legacy",
            title="Route the affected stage back to the legacy checkout",
            description="Switch the migration feature flag so the affected stages use the legacy checkout.",
            risk=Risk.high,
            requires_approval=True,
            rationale="If capacity does not help, the new checkout path is the slow part.",
            expected_effect="Latency and timeouts return to the legacy baseline.",
            confidence_factor=0.5,
        ),
    ),
    Category.payment_provider: (
        ActionTemplate(
            key="failover_payment_provider",
            title="Fail over to the secondary payment provider",
            description="Route payment authorisation for the affected stages to the secondary provider.",
            risk=Risk.high,
            requires_approval=True,
            rationale="Authorisations fail with 502/503 from the primary provider.",
            expected_effect="Payment errors stop; orders return to baseline.",
            confidence_factor=0.8,
        ),
        ActionTemplate(
            key="notify_merchants",
            title="Notify affected merchants",
            description="Tell the merchants in the blast radius that payments are failing at the provider.",
            risk=Risk.low,
            requires_approval=False,
            rationale="Shoppers' payments fail; merchants field the complaints.",
            expected_effect="Merchants are informed; fewer tickets.",
        ),
    ),
    Category.unknown: (
        ActionTemplate(
            key="open_investigation",
            title="Open an investigation",
            description="Assign the incident to the on-call engineer for manual diagnosis.",
            risk=Risk.low,
            requires_approval=False,
            rationale="The signals do not match a known root cause.",
            expected_effect="A person looks at the evidence.",
        ),
    ),
}

PAGE_ON_CALL = ActionTemplate(
    key="page_on_call",
    title="Page the on-call owner",
    description="Page the on-call owner of checkout with the incident summary and its revenue at risk.",
    risk=Risk.low,
    requires_approval=False,
    rationale="Severity is high: a person must own this incident now.",
    expected_effect="An owner acknowledges the incident.",
)
"""Proposed whenever severity is high or critical, whatever the root cause."""
