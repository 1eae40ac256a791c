"""Which merchant an outside identifier means: a shop domain, a Stripe account, a metric label value.

`MerchantResolver` is the seam: the settings' maps implement it today (`SettingsMerchants`); a merchant
directory can implement the same protocol and be passed in instead, without touching the connectors.
An identifier no map names keeps its own value as the merchant id, so nothing is dropped and the unmapped
merchant shows up under its outside name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from selfheal.settings import Settings

SHOPIFY = "shopify"
STRIPE = "stripe"
PROMETHEUS = "prometheus"


class MerchantResolver(Protocol):
    def merchant_for(self, source: str, key: str) -> str | None:
        """The merchant id that `key` (a shop domain, a Stripe account id, a label value) of `source` names,
        or None when this resolver does not know it."""
        ...


@dataclass(frozen=True)
class SettingsMerchants:
    """The maps from the settings (`SELFHEAL_SHOPIFY_MERCHANTS`, `SELFHEAL_STRIPE_MERCHANTS`) and, for
    Prometheus, the source config's `merchants` map."""

    maps: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> SettingsMerchants:
        return cls({SHOPIFY: dict(settings.shopify_merchants), STRIPE: dict(settings.stripe_merchants)})

    def merchant_for(self, source: str, key: str) -> str | None:
        return self.maps.get(source, {}).get(key)


def resolve(resolver: MerchantResolver, source: str, key: str) -> str:
    """The merchant id for `key`, or `key` itself when the resolver does not know it."""
    return resolver.merchant_for(source, key) or key
