"""The action workflow, the audit trail and key management over HTTP."""

from __future__ import annotations

from apikit import Api, seed_actions
from sqlalchemy import text

from selfheal.auth import Role
from selfheal.decide.model import Risk


def post(api: Api, path: str, who: Role, **body: object) -> tuple[int, dict]:  # type: ignore[type-arg]
    answer = api.client.post(path, json=body, headers=api.as_(who))
    return answer.status_code, answer.json()


def test_approve_execute_flow(api: Api) -> None:
    incident, (aid,) = seed_actions(api.store, ("replay_failed_webhooks", Risk.medium))
    status, body = post(api, "/approve_action", Role.approver, action_id=aid, comment="go")
    assert status == 200
    assert body["status"] == "approved"
    assert body["approvals"][0]["by"] == "approver"
    status, body = post(api, "/approve_action", Role.admin, action_id=aid)
    assert status == 409
    assert body["error"]["code"] == "conflict"
    assert "already approved" in body["error"]["message"]
    status, preview = post(api, "/execute_action", Role.approver, action_id=aid, dry_run=True)
    assert status == 200
    assert preview["status"] == "approved"
    assert preview["result"]["dry_run"] is True
    assert preview["result"]["detail"]["would"]["executor"] == "simulated"
    status, body = post(api, "/execute_action", Role.approver, action_id=aid)
    assert status == 200
    assert body["status"] == "succeeded"
    assert body["result"]["effect"]["category"] == "webhook_delivery"
    status, body = post(api, "/execute_action", Role.approver, action_id=aid)
    assert status == 409
    assert "already succeeded" in body["error"]["message"]

    view = api.client.get(f"/incidents/{incident}", headers=api.as_(Role.viewer)).json()
    assert [a["id"] for a in view["actions"]] == [aid]
    assert [r["action"] for r in view["audit"]] == [
        "incident.open",
        "action.propose",
        "action.approve",
        "action.execute",
        "action.succeeded",
    ]


def test_reject_then_execute_is_conflict(api: Api) -> None:
    _, (aid,) = seed_actions(api.store, ("rollback", Risk.high))
    assert post(api, "/reject_action", Role.approver, action_id=aid, comment="no")[0] == 200
    status, body = post(api, "/execute_action", Role.approver, action_id=aid)
    assert status == 409
    assert "rejected" in body["error"]["message"]
    assert body["error"]["details"]["status"] == "rejected"


def test_requester_cannot_approve_own_action(api: Api) -> None:
    _, (aid,) = seed_actions(api.store, ("rollback", Risk.high), actor="approver")
    status, body = post(api, "/approve_action", Role.approver, action_id=aid)
    assert status == 403
    assert "may not approve it" in body["error"]["message"]
    assert post(api, "/approve_action", Role.admin, action_id=aid)[0] == 200


def test_bad_input_is_4xx_with_field(api: Api) -> None:
    status, body = post(api, "/approve_action", Role.approver, action="x")
    assert status == 422
    fields = {d["field"] for d in body["error"]["details"]}
    assert {"action_id", "action"} <= fields
    status, body = post(api, "/approve_action", Role.approver, action_id="act-missing")
    assert status == 404
    assert body["error"]["details"] == {"action_id": "act-missing"}
    answer = api.client.get("/actions?status=done", headers=api.as_(Role.viewer))
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "query.status"
    answer = api.client.get("/audit?since=yesterday", headers=api.as_(Role.viewer))
    assert answer.status_code == 422
    bad = api.client.post(
        "/approve_action",
        content=b"{not json",
        headers={**api.as_(Role.approver), "Content-Type": "application/json"},
    )
    assert bad.status_code == 422
    status, body = post(api, "/fail_action", Role.approver, action_id="x", reason="")
    assert status == 422


def test_actions_list_filters(api: Api) -> None:
    incident, (a, b) = seed_actions(api.store, ("k1", Risk.medium), ("k2", Risk.high))
    seed_actions(api.store, ("k3", Risk.medium))
    post(api, "/approve_action", Role.approver, action_id=a)

    def ids(query: str) -> set[str]:
        answer = api.client.get(f"/actions?{query}", headers=api.as_(Role.viewer))
        assert answer.status_code == 200
        return {x["id"] for x in answer.json()}

    assert ids("status=approved") == {a}
    assert ids("risk=high") == {b}
    assert ids(f"incident={incident}") == {a, b}
    assert len(ids("")) == 3
    one = api.client.get(f"/actions/{b}", headers=api.as_(Role.viewer)).json()
    assert one["risk"] == "high"
    assert "claim_token" not in one


def test_cancel_and_stale_endpoints(api: Api) -> None:
    _, (aid,) = seed_actions(api.store, ("k1", Risk.medium))
    assert post(api, "/cancel_action", Role.approver, action_id=aid)[1]["status"] == "cancelled"
    assert api.client.get("/actions/stale", headers=api.as_(Role.viewer)).json() == []
    assert post(api, "/resume_action", Role.approver, action_id=aid)[0] == 409


def test_audit_list_filters_and_verify(api: Api) -> None:
    _, (aid,) = seed_actions(api.store, ("k1", Risk.medium))
    post(api, "/approve_action", Role.approver, action_id=aid)
    records = api.client.get("/audit?action=action.approve", headers=api.as_(Role.viewer)).json()
    assert [r["target_id"] for r in records] == [aid]
    assert records[0]["before"]["status"] == "proposed"
    assert records[0]["after"]["status"] == "approved"
    by_target = api.client.get(f"/audit?target_id={aid}", headers=api.as_(Role.viewer)).json()
    assert [r["action"] for r in by_target] == ["action.approve", "action.propose"]  # newest first
    by_actor = api.client.get("/audit?actor=approver", headers=api.as_(Role.viewer)).json()
    assert {r["actor"] for r in by_actor} == {"approver"}
    future = api.client.get("/audit?since=2999-01-01T00:00:00Z", headers=api.as_(Role.viewer)).json()
    assert future == []
    keys_made = api.client.get("/audit?action=key.create", headers=api.as_(Role.viewer)).json()
    assert len(keys_made) == 4
    assert all("key" not in r["after"] for r in keys_made)

    verified = api.client.get("/audit/verify", headers=api.as_(Role.viewer)).json()
    assert verified["ok"] is True
    with api.store.transaction() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"))
    verified = api.client.get("/audit/verify", headers=api.as_(Role.viewer)).json()
    assert verified["ok"] is False
    assert verified["first_bad_seq"] == 2


def test_key_management(api: Api) -> None:
    status, created = post(api, "/keys", Role.admin, name="alice", role="approver")
    assert status == 201
    key = created["key"]
    assert key.startswith("shk_")
    listed = api.client.get("/keys", headers=api.as_(Role.admin)).json()
    assert any(k["id"] == created["id"] for k in listed)
    assert all("key" not in k and "key_hash" not in k for k in listed)
    assert key not in api.client.get("/audit", headers=api.as_(Role.admin)).text
    # The new key works with its role, and its holder is who the audit names.
    _, (aid,) = seed_actions(api.store, ("k1", Risk.medium))
    answer = api.client.post("/approve_action", json={"action_id": aid}, headers={"X-API-Key": key})
    assert answer.status_code == 200
    assert answer.json()["decided_by"] == "alice"
    assert api.client.get("/keys", headers={"X-API-Key": key}).status_code == 403
    assert api.client.delete(f"/keys/{created['id']}", headers=api.as_(Role.admin)).json()["revoked_at"]
    assert api.client.get("/actions", headers={"X-API-Key": key}).status_code == 401
    assert api.client.delete(f"/keys/{created['id']}", headers=api.as_(Role.admin)).status_code == 404
    assert post(api, "/keys", Role.admin, name="bob", role="root")[0] == 422
    assert post(api, "/keys", Role.admin, name="", role="viewer")[0] == 422
    revokes = api.client.get("/audit?action=key.revoke", headers=api.as_(Role.admin)).json()
    assert revokes[0]["after"]["revoked"] is True
