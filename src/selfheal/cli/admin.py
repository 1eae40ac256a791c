"""Admin commands: `selfheal keys ...`, `selfheal audit ...`, `selfheal actions ...`.

They work on the database directly (the one `SELFHEAL_DATABASE_URL` / `SELFHEAL_DATA_DIR` names), so the
first admin key can be created before the API runs. Changes are audited with the actor `cli:<os user>`.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager

import orjson
import typer

from selfheal import audit
from selfheal.act.model import Action
from selfheal.act.states import ActionStatus
from selfheal.act.workflow import Workflow
from selfheal.auth import Role
from selfheal.errors import SelfhealError
from selfheal.keys import create_key, list_keys, revoke_key
from selfheal.records import ms_to_dt
from selfheal.settings import Settings
from selfheal.store import Store, audit_repo

keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
audit_app = typer.Typer(help="Read and verify the hash-chained audit trail.", no_args_is_help=True)
actions_app = typer.Typer(help="List actions; resume or fail interrupted executions.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the `keys`, `audit` and `actions` command groups to the main CLI."""
    app.add_typer(keys_app, name="keys")
    app.add_typer(audit_app, name="audit")
    app.add_typer(actions_app, name="actions")


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def _open() -> Iterator[tuple[Store, Settings]]:
    """The configured store; product errors become a message and exit code 1."""
    settings = Settings()
    store = Store.open(settings.resolved_database_url())
    try:
        yield store, settings
    except SelfhealError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    finally:
        store.dispose()


# --- keys ------------------------------------------------------------------------------------------
@keys_app.command("create")
def keys_create(
    role: Role = typer.Option(..., help="viewer, operator, approver or admin"),
    name: str = typer.Option(..., help="Who or what uses the key"),
) -> None:
    """Create a key and print it. It is shown only this once; only its hash is stored."""
    with _open() as (store, _):
        new = create_key(store, name, role, _actor())
    typer.echo(
        f"created {new.id} ({new.role.value}) for {new.name}; store this key now, it is not shown again:"
    )
    typer.echo(new.key)


@keys_app.command("list")
def keys_list() -> None:
    with _open() as (store, _):
        keys = list_keys(store)
    for k in keys:
        state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
        typer.echo(f"{k.id}  {k.role.value:<8}  {k.name:<24}  created {k.created_at:%Y-%m-%d %H:%M}  {state}")


@keys_app.command("revoke")
def keys_revoke(key_id: str = typer.Argument(..., help="The key id, e.g. key-1a2b3c4d5e")) -> None:
    with _open() as (store, _):
        info = revoke_key(store, key_id, _actor())
    typer.echo(f"revoked {info.id} ({info.role.value}, {info.name})")


# --- audit -----------------------------------------------------------------------------------------
@audit_app.command("verify")
def audit_verify() -> None:
    """Check the hash chain; exit code 1 when a record was edited, inserted or deleted."""
    with _open() as (store, _), store.read() as conn:
        result = audit.verify(conn)
    if result.ok:
        typer.echo(f"ok: {result.records} records, chain intact; head {result.head_seq} {result.head_hash}")
        return
    typer.echo(f"BROKEN at record {result.first_bad_seq}: {result.reason} ({result.records} records read)")
    raise typer.Exit(1)


@audit_app.command("list")
def audit_list(
    actor: str | None = typer.Option(None),
    action: str | None = typer.Option(None, help="Prefix, e.g. `action.`"),
    target: str | None = typer.Option(None, help="Target id (incident, action, key)"),
    limit: int = typer.Option(50, min=1, max=10_000),
    json: bool = typer.Option(False, "--json", help="One JSON object per line"),
) -> None:
    """Audit records, newest first."""
    with _open() as (store, _), store.read() as conn:
        rows = audit_repo.query(conn, actor=actor, action=action, target_id=target, limit=limit)
    for r in rows:
        if json:
            typer.echo(orjson.dumps({**r.model_dump(), "at": ms_to_dt(r.ts_ms).isoformat()}).decode())
        else:
            typer.echo(
                f"{r.seq:>6}  {ms_to_dt(r.ts_ms):%Y-%m-%d %H:%M:%S}  {r.actor:<16}  "
                f"{r.action:<20}  {r.target_type}:{r.target_id or '-'}"
            )


# --- actions ---------------------------------------------------------------------------------------
def _line(a: Action) -> str:
    return f"{a.id}  {a.status:<10}  {a.risk:<6}  {a.key:<28}  incident {a.incident_id or '-'}"


@actions_app.command("list")
def actions_list(
    status: ActionStatus | None = typer.Option(None),
    incident: str | None = typer.Option(None),
    limit: int = typer.Option(50, min=1, max=1000),
) -> None:
    with _open() as (store, settings):
        items = Workflow(store, settings).list_actions(status=status, incident_id=incident, limit=limit)
    for a in items:
        typer.echo(_line(a))


@actions_app.command("stale")
def actions_stale() -> None:
    """Executions whose lease ran out (the process running them stopped)."""
    with _open() as (store, settings):
        items = Workflow(store, settings).stale()
    for a in items:
        typer.echo(f"{_line(a)}  lease ended {a.lease_until:%Y-%m-%d %H:%M:%S}")


@actions_app.command("resume")
def actions_resume(
    action_id: str,
    force: bool = typer.Option(False, help="Take over before the lease runs out"),
    comment: str | None = typer.Option(None),
) -> None:
    """Run an interrupted execution again."""
    with _open() as (store, settings):
        a = Workflow(store, settings).resume(action_id, _actor(), force=force, comment=comment)
    typer.echo(_line(a))
    if a.status == ActionStatus.failed:
        raise typer.Exit(1)


@actions_app.command("fail")
def actions_fail(
    action_id: str,
    reason: str = typer.Option(..., help="Why it is given up"),
    force: bool = typer.Option(False, help="Before the lease runs out"),
) -> None:
    """Mark an interrupted execution failed."""
    with _open() as (store, settings):
        a = Workflow(store, settings).mark_failed(action_id, _actor(), reason, force=force)
    typer.echo(_line(a))
