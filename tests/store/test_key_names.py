"""A key's name is one holder's for good, also under concurrent creation (the unique index decides)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from selfheal.auth import Role, hash_key
from selfheal.errors import Conflict
from selfheal.keys import create_key, list_keys
from selfheal.store import Store, keys_repo


def test_two_transactions_that_both_passed_the_name_check_cannot_both_insert(store: Store) -> None:
    """The race the check alone lost: both creators see the name free, both insert; one gets Conflict."""
    if store.dialect != "postgresql":
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE; the race needs concurrent writers")
    first_inserted = threading.Event()
    second_checked = threading.Event()
    results: dict[str, object] = {}

    def first() -> None:
        with store.transaction() as conn:
            assert not keys_repo.name_taken(conn, "carol")
            keys_repo.insert_key(conn, "carol", "approver", hash_key("k1"), 1)
            first_inserted.set()
            assert second_checked.wait(10)
        results["first"] = "committed"

    def second() -> None:
        assert first_inserted.wait(10)
        try:
            with store.transaction() as conn:
                results["second_saw_taken"] = keys_repo.name_taken(conn, "carol")  # uncommitted: not seen
                second_checked.set()
                keys_repo.insert_key(conn, "carol", "approver", hash_key("k2"), 2)  # waits for the first
            results["second"] = "committed"
        except Conflict as exc:
            results["second"] = exc

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results["first"] == "committed"
    assert results["second_saw_taken"] is False
    assert isinstance(results["second"], Conflict)
    assert [k.name for k in list_keys(store)] == ["carol"]


def test_concurrent_creations_of_one_name_make_one_key(store: Store) -> None:
    def make(i: int) -> str:
        try:
            return create_key(store, "dana", Role.operator, f"admin-{i}").id
        except Conflict:
            return "conflict"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(make, range(8)))
    assert outcomes.count("conflict") == 7
    assert [k.name for k in list_keys(store)] == ["dana"]


def test_the_api_answers_409_for_a_taken_name_under_concurrent_requests(store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from selfheal.api.app import create_app
    from selfheal.settings import Settings

    admin = "admin-key-for-the-409-test"
    settings = Settings(
        data_dir=tmp_path, database_url=str(store.engine.url), admin_key=admin, dense_embeddings=False
    )
    headers = {"X-API-Key": admin}
    with TestClient(create_app(settings, store=store)) as client:

        def post(i: int) -> int:
            body = {"name": "erin", "role": "viewer" if i % 2 else "approver"}
            return client.post("/keys", json=body, headers=headers).status_code

        with ThreadPoolExecutor(6) as pool:
            codes = sorted(pool.map(post, range(6)))
        assert codes == [201, 409, 409, 409, 409, 409]
        again = client.post("/keys", json={"name": "erin", "role": "approver"}, headers=headers)
        assert again.status_code == 409
        assert again.json()["error"]["details"]["field"] == "name"
    assert [k.name for k in list_keys(store)] == ["erin"]
