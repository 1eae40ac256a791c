"""The fault catalogue: how each fault changes a checkout, step by step, and what customers write."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from selfheal.simulate.model import FaultSpec


@dataclass(frozen=True)
class FaultEffect:
    """Per-attempt probabilities of each step failing while the fault is active (at intensity 1)."""

    category: str
    cart_fail: float = 0.0  # cart comes back empty / sync conflict: the shopper abandons
    cart_status: int = 409
    checkout_fail: float = 0.0  # POST /api/checkout rejected
    checkout_status: int = 500
    latency_factor: float = 1.0  # multiplies checkout latency
    abandon_when_slow: float = 0.0  # extra abandonment from slowness
    payment_fail: float = 0.0  # payment provider errors
    payment_statuses: tuple[int, ...] = (502,)
    webhook_fail: float = 0.0  # order webhook rejected: payment captured, no order.created
    webhook_status: int = 500
    cart_statuses: tuple[
        int, ...
    ] = ()  # when given, one drawn per failed cart request (overrides cart_status)
    checkout_statuses: tuple[int, ...] = ()
    webhook_statuses: tuple[int, ...] = ()
    sessions_factor: float = 1.0  # multiplies sessions (browsing traffic) while active
    traffic_factor: float = (
        1.0  # multiplies checkout attempts and sessions while active (0: the shop is down)
    )
    ticket_rate: float = 0.03  # tickets per failed attempt
    message: str = ""
    subjects: tuple[str, ...] = field(default_factory=tuple)
    bodies: tuple[str, ...] = field(default_factory=tuple)


FAULTS: dict[str, FaultEffect] = {
    "webhook_403": FaultEffect(
        category="webhook_delivery",
        webhook_fail=0.92,
        webhook_status=403,
        message="webhook signature verification failed",
        subjects=(
            "Charged but no order confirmation",
            "Payment taken, order missing",
            "Customer paid, nothing in our order list",
            "Money gone but no order",
            "Where is my order? I was charged {amount}",
            "Orders not showing up after payment",
        ),
        bodies=(
            "I paid {amount} for {product} at {time} and my card was charged, but I never got an order "
            "confirmation and the shop says there is no order.",
            "Since the headless switch, customers are paying but the orders never appear in our admin. "
            "Payment provider shows the capture for order ref {ref}.",
            "My bank shows the charge of {amount} yet I have no confirmation email. Did my order go through?",
            "We see successful payments in the PSP dashboard but no order.created on our side. Our webhook "
            "endpoint log shows 403 responses.",
            "Checkout completed, payment captured ({amount}) but the order is nowhere to be found. Please help.",
        ),
    ),
    "webhook_500": FaultEffect(
        category="webhook_delivery",
        webhook_fail=0.9,
        webhook_status=500,
        message="order webhook handler error",
        subjects=(
            "Paid but order not created",
            "No order after successful payment",
            "Payment succeeded, order missing",
            "Orders missing since this morning",
            "Double check: was I charged for {product}?",
        ),
        bodies=(
            "The payment for {product} went through ({amount}) but I did not receive any order number.",
            "Our store received payments but the orders are not being created. The order webhook keeps "
            "failing with server errors.",
            "I was charged {amount} at {time} and there is no order in my account.",
            "Several customers say they paid and got nothing. Payment refs like {ref} have no matching order.",
        ),
    ),
    "api_auth_401": FaultEffect(
        category="api_auth",
        checkout_fail=0.7,
        checkout_status=401,
        message="invalid or expired storefront access token",
        subjects=(
            "Checkout says unauthorized",
            "Error 401 when paying",
            "Can't complete checkout - session error",
            "Storefront API rejecting our token",
            "Checkout button gives an authentication error",
        ),
        bodies=(
            "Every time I try to check out I get an 'unauthorized' error and I'm sent back to the cart.",
            "Since the migration our headless storefront gets 401 from the checkout API. Did our API key "
            "or access token change?",
            "I tried three times to buy {product} and the page says my session is not authorised.",
            "Customers report an authentication error at checkout. Our logs show 401 Unauthorized on "
            "POST /api/checkout.",
        ),
    ),
    "cart_sync_mismatch": FaultEffect(
        category="cart_sync",
        cart_fail=0.55,
        cart_status=409,
        message="cart version conflict: backend cart empty after sync",
        subjects=(
            "My cart keeps emptying",
            "Items disappear from basket at checkout",
            "Cart is empty when I go to pay",
            "Basket lost my {product}",
            "Cart contents not syncing",
        ),
        bodies=(
            "I add {product} to the cart but when I go to checkout the cart is empty.",
            "Our shoppers' carts are being wiped between the storefront and checkout. The backend cart "
            "shows zero items.",
            "Each time I click pay the basket resets and my items are gone.",
            "Cart sync between the new frontend and the backend seems broken: 409 conflicts on cart sync.",
        ),
    ),
    "checkout_latency": FaultEffect(
        category="checkout_latency",
        checkout_fail=0.12,
        checkout_status=504,
        latency_factor=9.0,
        abandon_when_slow=0.3,
        ticket_rate=0.02,
        message="upstream timeout",
        subjects=(
            "Checkout is extremely slow",
            "Payment page takes forever",
            "Checkout spinner never ends",
            "Timeouts at checkout",
            "Site very slow when paying",
        ),
        bodies=(
            "The checkout page took more than a minute to load and then showed a timeout.",
            "Our customers complain that checkout hangs for ages; some give up. Started around {time}.",
            "I waited and waited on the payment step for my {product} and then gave up.",
            "Gateway timeouts (504) on checkout and very slow responses since the rollout.",
        ),
    ),
    "payment_provider_errors": FaultEffect(
        category="payment_provider",
        payment_fail=0.5,
        payment_statuses=(502, 503),
        message="payment provider unavailable",
        subjects=(
            "Payment failed with error",
            "Card payment not going through",
            "Payment provider error at checkout",
            "Can't pay - 'service unavailable'",
            "Payment keeps failing for {product}",
        ),
        bodies=(
            "My card is fine but the payment step says the service is unavailable. Tried twice.",
            "A lot of our payments are failing with provider errors (502/503) since {time}.",
            "I get 'payment could not be processed' when I try to pay {amount}.",
            "The payment gateway seems to be down, customers can't pay.",
        ),
    ),
}

DECOYS: dict[str, FaultEffect] = {
    "deploy_blip": FaultEffect(
        category="decoy", checkout_fail=0.3, checkout_status=502, ticket_rate=0.0, message="deploy restart"
    ),
    "merchant_own_outage": FaultEffect(category="decoy", traffic_factor=0.0, ticket_rate=0.0),
    "marketing_spike": FaultEffect(category="decoy", sessions_factor=3.0, ticket_rate=0.0),
    "background_errors": FaultEffect(
        category="decoy",
        checkout_fail=0.03,
        checkout_statuses=(500, 502, 503),
        ticket_rate=0.0,
        message="intermittent server error",
    ),
}
"""Things that look like trouble and are not a platform fault: a short deploy blip, one merchant's own shop
down (no traffic at all), a marketing campaign tripling browsing sessions, a merchant's own background rate of
server errors (up to 3 % of checkouts at intensity 1, every day). Their ground-truth category is
`decoy`; a fault-free run with decoys should open no incident."""

REWORDED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "webhook_delivery": (
        ("Bank statement shows purchase, shop has nothing", "Debited twice? no confirmation"),
        ("My account was debited {amount} but the store has no record of my purchase {ref}.",),
    ),
    "api_auth": (
        ("Forbidden error on the buy button", "Access denied at checkout"),
        ("Clicking buy shows 'access denied' / forbidden. Tried {product} twice.",),
    ),
    "cart_sync": (
        ("Products vanish before I can buy", "Shopping bag resets"),
        ("I select {product}, go to pay and the bag shows nothing. Happened three times.",),
    ),
    "checkout_latency": (
        ("Checkout stuck loading", "Buying takes minutes"),
        ("I pressed buy for {product} and the page kept loading for minutes, so I closed it.",),
    ),
    "payment_provider": (
        ("Card declined though balance is fine", "Transaction error at the last step"),
        ("The last step says transaction error when I pay {amount}; my bank says nothing was refused.",),
    ),
}
"""Another wording of each category's tickets (for the simulator's `reworded_tickets` variant)."""

CATEGORY_OF: dict[str, str] = {name: effect.category for name, effect in {**FAULTS, **DECOYS}.items()}


def vary(effect: FaultEffect, spec: FaultSpec) -> FaultEffect:
    """The catalogue effect with the spec's status codes (on the step that fails) and cart spread applied."""
    if not spec.statuses and not spec.also_cart:
        return effect
    changes: dict[str, object] = {}
    if spec.statuses:
        if effect.webhook_fail:
            changes["webhook_statuses"] = spec.statuses
        elif effect.payment_fail:
            changes["payment_statuses"] = spec.statuses
        elif effect.cart_fail:
            changes["cart_statuses"] = spec.statuses
        elif effect.checkout_fail:
            changes["checkout_statuses"] = spec.statuses
    if spec.also_cart and effect.checkout_fail:
        changes["cart_fail"] = effect.checkout_fail * 0.5
        changes["cart_statuses"] = spec.statuses or (effect.checkout_status,)
    return replace(effect, **changes)  # type: ignore[arg-type]


BACKGROUND_SUBJECTS: tuple[str, ...] = (
    "How do I change my delivery address?",
    "Refund status for order {ref}",
    "Discount code not accepted",
    "Where is my parcel?",
    "Wrong size delivered",
    "Question about invoice",
    "How to update product images",
    "Can I change my order?",
    "Return label request",
    "Shipping cost question",
)
BACKGROUND_BODIES: tuple[str, ...] = (
    "Hello, I ordered {product} last week and would like to know when it will arrive.",
    "Could you tell me how to get a refund for {product}? Reference {ref}.",
    "The discount code I received by email does not work at checkout.",
    "I need an invoice with our company VAT number for order {ref}.",
    "The {product} I received is the wrong size, how do I return it?",
    "How long does shipping usually take to my region?",
)
PRODUCTS: tuple[str, ...] = (
    "running shoes",
    "a winter jacket",
    "headphones",
    "a coffee grinder",
    "a backpack",
    "two t-shirts",
    "a desk lamp",
    "a phone case",
    "a yoga mat",
    "sunglasses",
)


_FAULT_SPEC = re.compile(r"^(?P<name>[a-z0-9_]+)@(?P<start>\d+)\+(?P<dur>\d+)(?::(?P<target>.+))?$")


def parse_fault(text: str, begin: datetime) -> FaultSpec:
    """`NAME@START+DURATION[:stage,stage|#merchant,merchant]`, minutes relative to `begin`."""
    match = _FAULT_SPEC.match(text.strip())
    if not match:
        raise ValueError(f"fault {text!r} is not NAME@START+DURATION[:stages|#merchants]")
    if match["name"] not in FAULTS and match["name"] not in DECOYS:
        raise ValueError(f"unknown fault {match['name']!r}; known: {', '.join(sorted({*FAULTS, *DECOYS}))}")
    target = match["target"] or ""
    merchants: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    if target.startswith("#"):
        merchants = tuple(t for t in target[1:].split(",") if t)
    elif target:
        stages = tuple(t for t in target.split(",") if t)
    return FaultSpec(
        name=match["name"],
        start=begin + timedelta(minutes=int(match["start"])),
        duration_minutes=int(match["dur"]),
        stages=stages,
        merchants=merchants,
    )
