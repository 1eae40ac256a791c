"""The incidents resource: typed responses (the OpenAPI document shows the incident schemas) over stored rows."""

from __future__ import annotations

from typing import Any

from apikit import Api, seed_actions
from fastapi.testclient import TestClient

from selfheal.auth import Role
from selfheal.decide.model import Risk


def _response_schema(openapi: dict[str, Any], path: str) -> dict[str, Any]:
    content = openapi["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    schema: dict[str, Any] = content["schema"]
    return schema


def _component(openapi: dict[str, Any], ref: str) -> dict[str, Any]:
    component: dict[str, Any] = openapi["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return component


def test_openapi_shows_the_incident_schema(client: TestClient) -> None:
    openapi = client.get("/openapi.json").json()
    detail = _component(openapi, _response_schema(openapi, "/incidents/{incident_id}")["$ref"])
    assert {
        "id",
        "status",
        "severity",
        "category",
        "title",
        "assessment",
        "timeline",
        "actions",
        "audit",
    } <= set(detail["properties"])
    assert detail["properties"]["actions"]["items"]["$ref"].endswith("/Action")
    listed = _response_schema(openapi, "/incidents")
    assert _component(openapi, listed["items"]["$ref"])["properties"]["created_at"]["format"] == "date-time"
    lifecycle = _component(openapi, _response_schema(openapi, "/incidents/{incident_id}/lifecycle")["$ref"])
    assert {"cost_of_waiting", "outcomes", "timeline"} <= set(lifecycle["properties"])
    run_cycle = openapi["paths"]["/run_cycle"]["post"]["responses"]["200"]["content"]["application/json"]
    assert _component(openapi, run_cycle["schema"]["$ref"])["properties"]["plan"]["$ref"].endswith(
        "/IncidentPlan"
    )


def test_incident_responses_keep_their_shape(api: Api) -> None:
    incident_id, action_ids = seed_actions(api.store, ("replay_failed_webhooks", Risk.high))
    headers = api.as_(Role.viewer)
    (listed,) = api.client.get("/incidents", headers=headers).json()
    assert set(listed) == {
        "id",
        "created_at",
        "updated_at",
        "as_of",
        "window_minutes",
        "status",
        "severity",
        "category",
        "title",
        "onset",
        "recovering_since",
        "resolved_at",
        "currency",
        "lost_orders_so_far",
        "lost_revenue_so_far",
        "peak_lost_orders_per_hour",
        "peak_lost_revenue_per_hour",
        "current_lost_orders_per_hour",
        "current_lost_revenue_per_hour",
        "story",
    }
    assert listed["recovering_since"] is None and listed["story"] is None, "no tracking row"
    whole = api.client.get(f"/incidents/{incident_id}", headers=headers).json()
    assert set(whole) == set(listed) | {
        "assessment",
        "findings",
        "observation",
        "timeline",
        "actions",
        "audit",
    }
    assert [a["id"] for a in whole["actions"]] == action_ids
    assert whole["audit"][0]["action"] == "incident.open"
    life = api.client.get(f"/incidents/{incident_id}/lifecycle", headers=headers).json()
    assert life["categories"] == ["webhook_delivery"] and life["cycles"] == 0, "no tracking row: the defaults"
    assert [w["id"] for w in life["cost_of_waiting"]["actions_waiting"]] == action_ids
    assert life["cost_of_waiting"]["lost_revenue_per_hour"] == 0.0 and life["outcomes"] == []
