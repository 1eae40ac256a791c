"""Every route of the app against the role it requires: each role is allowed or gets 403, no key gets 401.

When you add a route, add ONE line to ROUTE_ROLES below (None = public). The test fails for any route of
the app that is missing here, and for any line here that no longer matches a route.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from apikit import Api

from selfheal.auth import ROLE_RANK, Role

V, OP, A, ADM = Role.viewer, Role.operator, Role.approver, Role.admin

ROUTE_ROLES: dict[tuple[str, str], Role | None] = {
    # --- public ---------------------------------------------------------------------------------
    ("GET", "/health"): None,
    ("GET", "/health/live"): None,
    ("GET", "/health/ready"): None,
    ("GET", "/metrics"): None,
    ("GET", "/openapi.json"): None,
    ("GET", "/docs"): None,
    ("GET", "/docs/oauth2-redirect"): None,
    ("GET", "/redoc"): None,
    # --- ingest ---------------------------------------------------------------------------------
    ("POST", "/ingest/tickets"): OP,
    ("POST", "/ingest/logs"): OP,
    ("POST", "/ingest/metrics"): OP,
    # --- connectors: the commerce webhooks authenticate by the sender's signature -----------------
    ("POST", "/connectors/shopify/webhooks"): None,
    ("POST", "/connectors/stripe/webhooks"): None,
    ("POST", "/connectors/alertmanager"): OP,
    ("GET", "/connectors/alerts"): V,
    # --- merchant directory ---------------------------------------------------------------------
    ("POST", "/merchants"): OP,
    ("GET", "/merchants"): V,
    ("GET", "/merchants/unknown"): V,
    ("GET", "/merchants/{merchant_id}"): V,
    # --- cycles and incidents -------------------------------------------------------------------
    ("GET", "/observe"): V,
    ("POST", "/run_cycle"): OP,
    ("GET", "/incidents"): V,
    ("GET", "/incidents/{incident_id}"): V,
    ("GET", "/anomalies"): V,
    ("GET", "/incidents/{incident_id}/lifecycle"): V,
    ("GET", "/themes"): V,
    ("GET", "/clusters"): V,  # deprecated alias of /themes
    # --- actions --------------------------------------------------------------------------------
    ("GET", "/actions"): V,
    ("GET", "/actions/stale"): V,
    ("GET", "/actions/{action_id}"): V,
    ("POST", "/actions/{action_id}/approve"): A,
    ("POST", "/actions/{action_id}/reject"): A,
    ("POST", "/actions/{action_id}/cancel"): A,
    ("POST", "/actions/{action_id}/execute"): A,
    ("POST", "/approve_action"): A,  # deprecated aliases of the four above
    ("POST", "/reject_action"): A,
    ("POST", "/cancel_action"): A,
    ("POST", "/execute_action"): A,
    ("POST", "/resume_action"): A,
    ("POST", "/fail_action"): A,
    # --- audit ----------------------------------------------------------------------------------
    ("GET", "/audit"): V,
    ("GET", "/audit/verify"): V,
    ("GET", "/notifications"): V,
    ("GET", "/notifications/{notification_id}"): V,
    # --- keys -----------------------------------------------------------------------------------
    ("POST", "/keys"): ADM,
    ("GET", "/keys"): ADM,
    ("DELETE", "/keys/{key_id}"): ADM,
    # --- ui: who is calling, chart series -------------------------------------------------------
    ("GET", "/whoami"): V,
    ("GET", "/series/kpis"): V,
    ("GET", "/series/errors"): V,
    # runbook knowledge base
    ("POST", "/runbooks/upload"): OP,
    ("GET", "/runbooks/stats"): V,
    ("GET", "/runbooks/documents"): V,
    ("DELETE", "/runbooks/documents/{document_id}"): OP,
    ("POST", "/runbooks/clear"): ADM,
    ("GET", "/runbooks/search"): V,
    # the same routes under their deprecated alias /rag
    ("POST", "/rag/upload"): OP,
    ("GET", "/rag/stats"): V,
    ("GET", "/rag/documents"): V,
    ("DELETE", "/rag/documents/{document_id}"): OP,
    ("POST", "/rag/clear"): ADM,
    ("GET", "/rag/search"): V,
}


def app_routes(api: Api) -> set[tuple[str, str]]:
    """(method, path) of every route, including those of included routers."""
    routes: list[Any] = list(api.client.app.routes)  # type: ignore[attr-defined]
    try:  # FastAPI >= 0.16x keeps included routers as nested objects
        from fastapi.routing import iter_route_contexts

        routes = list(iter_route_contexts(routes))
    except ImportError:
        pass
    found: set[tuple[str, str]] = set()
    for route in routes:
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                found.add((method, route.path))
    return found


def test_every_route_is_in_the_table(api: Api) -> None:
    routes = app_routes(api)
    missing = sorted(routes - ROUTE_ROLES.keys())
    stale = sorted(ROUTE_ROLES.keys() - routes)
    assert not missing, f"add these routes to ROUTE_ROLES in {__file__}: {missing}"
    assert not stale, f"these ROUTE_ROLES lines match no route any more: {stale}"


def call(api: Api, method: str, path: str, role: Role | None) -> int:
    url = re.sub(r"\{[^}]+\}", "does-not-exist", path)
    kwargs = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return api.client.request(method, url, headers=api.as_(role), **kwargs).status_code


@pytest.mark.parametrize(("method", "path"), sorted(ROUTE_ROLES))
def test_role_matrix(api: Api, method: str, path: str) -> None:
    needed = ROUTE_ROLES[(method, path)]
    no_key = call(api, method, path, None)
    if needed is None:
        assert no_key not in (401, 403), f"{method} {path} is public but answered {no_key} without a key"
        assert no_key < 500
        return
    assert no_key == 401, f"{method} {path} without a key answered {no_key}, not 401"
    for role in Role:
        status = call(api, method, path, role)
        if ROLE_RANK[role] >= ROLE_RANK[needed]:
            assert status not in (401, 403), f"{role.value} may {method} {path} but got {status}"
            assert status < 500, f"{role.value} {method} {path} answered {status}"
        else:
            assert status == 403, f"{role.value} may not {method} {path} but got {status}"


def test_unknown_and_revoked_keys_get_401(api: Api) -> None:
    assert api.client.get("/actions", headers={"X-API-Key": "shk_nope"}).status_code == 401
    keys = api.client.get("/keys", headers=api.as_(Role.admin)).json()
    viewer_id = next(k["id"] for k in keys if k["role"] == "viewer")
    assert api.client.get("/actions", headers=api.as_(Role.viewer)).status_code == 200
    assert api.client.delete(f"/keys/{viewer_id}", headers=api.as_(Role.admin)).status_code == 200
    answer = api.client.get("/actions", headers=api.as_(Role.viewer))
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"


def test_bearer_header_and_bootstrap_admin_key(api: Api) -> None:
    from apikit import ADMIN_KEY

    assert (
        api.client.get("/keys", headers={"Authorization": f"Bearer {api.keys[Role.admin]}"}).status_code
        == 200
    )
    assert api.client.get("/keys", headers={"X-API-Key": ADMIN_KEY}).status_code == 200


def test_forbidden_answer_names_the_role(api: Api) -> None:
    answer = api.client.post("/approve_action", json={"action_id": "x"}, headers=api.as_(Role.operator))
    assert answer.status_code == 403
    body = answer.json()["error"]
    assert body["code"] == "forbidden"
    assert body["details"] == {"role": "operator", "required": "approver"}
