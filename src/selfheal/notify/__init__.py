"""Notifications out: Slack incoming webhooks and PagerDuty Events API v2.

- `render`: the message bodies of a notice (pure);
- `outbox`: the act stage's side: one outbox row per (notice, receiver), in the cycle's transaction;
- `deliver`: the delivery worker: claims due rows, sends them with a bounded timeout, retries with
  exponential backoff and full jitter (honouring `Retry-After`), gives up after a bounded number of attempts
  or age, and records every failure in the row and the audit trail;
- `worker`: a background thread that runs deliveries after each cycle and between cycles.
"""
