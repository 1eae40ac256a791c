"""Tamper evidence of the audit chain: edits, deletions in the middle and at the end, the head anchor."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from selfheal import audit
from selfheal.store import Store, audit_repo
from selfheal.store.engine import alembic_config, make_engine
from selfheal.store.rows import AuditEntry


def append(store: Store, n: int) -> None:
    for i in range(n):
        with store.transaction() as conn:
            audit.record(
                conn, actor="t", action="test.write", target_type="thing", target_id=f"t{i}", after={"i": i}
            )


def verify(store: Store) -> audit.VerifyResult:
    with store.read() as conn:
        return audit.verify(conn)


def sql(store: Store, statement: str) -> None:
    with store.transaction() as conn:
        conn.execute(text(statement))


def test_intact_chain_verifies(any_store: Store) -> None:
    append(any_store, 5)
    result = verify(any_store)
    assert result.ok
    assert result.records == 5
    assert result.head_seq == 5


def test_edited_record_is_found(any_store: Store) -> None:
    append(any_store, 5)
    sql(any_store, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
    result = verify(any_store)
    assert not result.ok
    assert result.first_bad_seq == 3
    assert "edited" in (result.reason or "")


def test_deleted_middle_record_is_found(any_store: Store) -> None:
    append(any_store, 5)
    sql(any_store, "DELETE FROM audit_log WHERE seq = 2")
    result = verify(any_store)
    assert not result.ok
    assert result.first_bad_seq == 2
    assert "missing" in (result.reason or "")


def test_deleted_last_record_is_found(any_store: Store) -> None:
    append(any_store, 5)
    sql(any_store, "DELETE FROM audit_log WHERE seq = 5")
    result = verify(any_store)
    assert not result.ok
    assert result.first_bad_seq == 5
    assert "deleted at the end" in (result.reason or "")


def test_deleted_last_records_stay_visible_after_new_appends(any_store: Store) -> None:
    append(any_store, 5)
    sql(any_store, "DELETE FROM audit_log WHERE seq >= 4")
    append(any_store, 2)  # new records chain onto the anchored head, not onto record 3
    result = verify(any_store)
    assert not result.ok
    assert result.first_bad_seq == 4


def test_rewritten_last_record_is_found(any_store: Store) -> None:
    """Rewriting the newest record and its hash keeps the chain valid; the anchor still disagrees."""
    append(any_store, 3)
    with any_store.transaction() as conn:
        row = audit_repo.last_record(conn)
        assert row is not None
        new_hash = audit.entry_hash(row.model_copy(update={"actor": "mallory"}))
        conn.execute(text("UPDATE audit_log SET actor = 'mallory', hash = :h WHERE seq = 3"), {"h": new_hash})
    result = verify(any_store)
    assert not result.ok
    assert "head anchor" in (result.reason or "")


def test_deleted_anchor_is_found(any_store: Store) -> None:
    append(any_store, 2)
    sql(any_store, "DELETE FROM audit_head")
    assert verify(any_store).reason == "the head anchor is missing"


def test_everything_deleted_is_found(any_store: Store) -> None:
    append(any_store, 2)
    sql(any_store, "DELETE FROM audit_log")
    assert not verify(any_store).ok


def test_migration_anchors_an_existing_log(tmp_path: object) -> None:
    """A log written before the anchor table existed gets anchored at its last record."""
    engine = make_engine(f"sqlite:///{tmp_path}/old.db")
    command.upgrade(alembic_config(engine), "0001")
    prev = audit.GENESIS
    with engine.begin() as conn:
        for seq in (1, 2):
            entry = AuditEntry(
                seq=seq,
                ts_ms=seq,
                actor="old",
                action="x",
                target_type="y",
                target_id=None,
                before=None,
                after=None,
                prev_hash=prev,
                hash="",
            )
            row = entry.model_copy(update={"hash": audit.entry_hash(entry)}).model_dump()
            conn.execute(
                text(
                    "INSERT INTO audit_log (seq, ts_ms, actor, action, target_type, target_id, before, after, "
                    "prev_hash, hash) VALUES (:seq, :ts_ms, :actor, :action, :target_type, :target_id, "
                    ":before, :after, :prev_hash, :hash)"
                ),
                row,
            )
            prev = row["hash"]
    engine.dispose()
    store = Store.open(f"sqlite:///{tmp_path}/old.db")
    try:
        result = verify(store)
        assert result.ok
        assert result.head_seq == 2
        append(store, 1)
        assert verify(store).records == 3
        assert verify(store).ok
    finally:
        store.dispose()
