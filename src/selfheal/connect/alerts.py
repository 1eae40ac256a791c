"""Alertmanager's webhook payload (version 4) as alerts to store.

The payload (prometheus.io/docs/alerting/latest/configuration/#webhook_config) carries `version` "4",
`groupKey`, `status`, `receiver`, group/common labels and `alerts[]`, each with `status` (`firing` or
`resolved`), `labels`, `annotations`, `startsAt`, `endsAt`, `generatorURL` and `fingerprint`. An alert
occurrence is identified by its fingerprint and `startsAt`: Alertmanager re-sends a firing group every
`repeat_interval` and sends the same occurrence again when it resolves, so repeats are duplicates and the
resolved notice closes the stored occurrence. The merchant and migration stage come from labels
(`SELFHEAL_ALERT_MERCHANT_LABEL`, `SELFHEAL_ALERT_STAGE_LABEL`; the alert's own label first, then the
group's common labels).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from selfheal.errors import InvalidInput
from selfheal.records import dt_to_ms
from selfheal.settings import Settings
from selfheal.store.alerts_repo import AlertWrite

MAX_ALERTS = 1000
Label = Annotated[str, Field(max_length=4096)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False, populate_by_name=True)


class AmAlert(_Model):
    status: Literal["firing", "resolved"]
    labels: dict[Label, Label]
    annotations: dict[Label, Annotated[str, Field(max_length=50_000)]] = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(None, alias="endsAt")
    generator_url: Annotated[str, Field(max_length=8192)] | None = Field(None, alias="generatorURL")
    fingerprint: Annotated[str, Field(min_length=1, max_length=128)] | None = None


class AmPayload(_Model):
    version: Literal["4"]
    group_key: Annotated[str, Field(max_length=8192)] = Field(alias="groupKey")
    status: Literal["firing", "resolved"]
    receiver: Annotated[str, Field(max_length=512)] = ""
    alerts: Annotated[list[AmAlert], Field(max_length=MAX_ALERTS)]
    group_labels: dict[Label, Label] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[Label, Label] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[Label, Annotated[str, Field(max_length=50_000)]] = Field(
        default_factory=dict, alias="commonAnnotations"
    )
    external_url: Annotated[str, Field(max_length=8192)] | None = Field(None, alias="externalURL")
    truncated_alerts: int = Field(0, alias="truncatedAlerts")


def parse_payload(body: bytes) -> AmPayload:
    """The payload, or 422 naming the field and the reason."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("body is not JSON", {"field": "body", "reason": str(exc)}) from exc
    try:
        return AmPayload.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "body", "reason": e["msg"]}
            for e in exc.errors()[:20]
        ]
        raise InvalidInput(
            f"not an Alertmanager webhook payload (version 4): {errors[0]['field']}: {errors[0]['reason']}",
            {"errors": errors},
        ) from exc


def _ms(value: datetime | None) -> int | None:
    """Epoch ms; Alertmanager's zero time (`0001-01-01T00:00:00Z`, "not ended") and anything before 1970 are None."""
    if value is None:
        return None
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    if aware.year < 1970:
        return None
    return dt_to_ms(aware)


def _fingerprint(labels: dict[str, str]) -> str:
    """For a sender without `fingerprint` (Alertmanager before 0.19): a stable hash of the label set."""
    return (
        "l:" + hashlib.blake2b(orjson.dumps(labels, option=orjson.OPT_SORT_KEYS), digest_size=8).hexdigest()
    )


def alert_writes(payload: AmPayload, settings: Settings) -> list[AlertWrite]:
    """The payload's alerts as rows to store (a firing alert has no end; a resolved one ends at `endsAt`)."""
    out = []
    for i, a in enumerate(payload.alerts):
        starts = _ms(a.starts_at)
        if starts is None:
            raise InvalidInput(
                f"alerts.{i}.startsAt is before 1970",
                {"errors": [{"field": f"alerts.{i}.startsAt", "reason": "before 1970"}]},
            )
        fingerprint = a.fingerprint or _fingerprint(a.labels)
        labels = {**payload.common_labels, **a.labels}
        annotations = {**payload.common_annotations, **a.annotations}
        ends = _ms(a.ends_at) if a.status == "resolved" else None
        summary = annotations.get("summary") or annotations.get("description")
        key = f"{fingerprint}|{starts}".encode()
        out.append(
            AlertWrite(
                id=hashlib.blake2b(key, digest_size=16).hexdigest(),
                fingerprint=fingerprint,
                starts_ms=starts,
                ends_ms=ends,
                status=a.status,
                alertname=labels.get("alertname", "")[:512],
                severity=(labels.get("severity") or None) and labels["severity"][:64],
                merchant_id=(labels.get(settings.alert_merchant_label) or None)
                and labels[settings.alert_merchant_label][:512],
                migration_stage=(labels.get(settings.alert_stage_label) or None)
                and labels[settings.alert_stage_label][:512],
                summary=summary,
                labels=dict(a.labels),
                annotations=dict(a.annotations),
                generator_url=a.generator_url,
                group_key=payload.group_key,
                receiver=payload.receiver[:512] or None,
            )
        )
    return out
