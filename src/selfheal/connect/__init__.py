"""Connectors in: the wire formats of systems merchants already run, turned into selfheal's own signals.

- `commerce`: Shopify order webhooks and Stripe payment events -> log events (`signals.LogEvent`) with
  correlation ids, so payments pair with orders (docs/connectors.md has the mapping).
- `signatures`: the senders' signature schemes, verified exactly as each sender documents them.
- `alerts`: Alertmanager webhook payloads (version 4) -> stored alerts, evidence for the cycle.
- `prometheus`: `query_range` of configured PromQL expressions -> KPI metric points (`signals.MetricPoint`).
- `merchants`: the seam that maps a shop domain, a Stripe account or a label value to a merchant id.
"""
