"""The default executor: carries nothing out in the outside world, records the effect instead.

The effect is stored in the `simulator_effects` table in the same transaction that marks the action
succeeded. The demo simulator polls `selfheal.act.effects.pending_effects` and heals the fault the effect
names, e.g. a `webhook_delivery` effect ends the webhook fault and replays the missing order.created events.
"""

from __future__ import annotations

from typing import Any

from selfheal.act.executors.base import ExecutionRequest, ExecutionResult, Executor

NON_REMEDIAL_PREFIXES = (
    "notify",
    "page",
    "escalate",
    "investigate",
    "monitor",
    "communicate",
    "open_",
    "replay",
)
"""Action keys starting with these inform people or recover past losses (a replay re-creates the missing
orders but does not stop new failures); their effects do not end the fault."""

HEALING_BY_CATEGORY = {
    "webhook_delivery": "restore webhook delivery and replay failed order.created webhooks",
    "api_auth": "restore API credentials so checkout calls authenticate again",
    "cart_sync": "resynchronise carts between the legacy and headless stacks",
    "checkout_latency": "relieve the checkout slowdown (scale out / roll back)",
    "payment_provider": "route payment authorisation to a healthy provider",
}


def simulated_effect(request: ExecutionRequest) -> dict[str, Any]:
    """What the action would change in the simulated shop: the fault category it heals, where, and how."""
    heals = not request.key.startswith(NON_REMEDIAL_PREFIXES) and request.category in HEALING_BY_CATEGORY
    return {
        "action_key": request.key,
        "category": request.category,
        "heals": heals,
        "description": HEALING_BY_CATEGORY.get(request.category or "", "no simulated change")
        if heals
        else "informational: no simulated change",
        "stages": list(request.stages),
        "merchants": list(request.merchants),
        "params": request.params,
    }


class SimulatedExecutor(Executor):
    name = "simulated"

    def execute(self, request: ExecutionRequest) -> ExecutionResult:
        effect = simulated_effect(request)
        return ExecutionResult(
            ok=True,
            executor=self.name,
            summary=f"simulated {request.key}: {effect['description']}",
            detail={"attempt": request.attempt},
            effect=effect,
        )
