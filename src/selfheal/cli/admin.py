"""Admin commands: `selfheal keys ...`, `selfheal audit ...`, `selfheal actions ...`.

They are clients of the API (`--api`, `--api-key`, or SELFHEAL_API_URL / SELFHEAL_API_KEY), so they work
against a remote server and under the key's role. Bootstrap is the exception: `keys create --database URL`
writes the first admin key straight into that database (before any key exists to call the API with), and
`audit verify --database URL` checks the chain where the database is.
"""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer

from selfheal.auth import Role
from selfheal.cli.common import console
from selfheal.cli.remote import (
    ApiKeyOption,
    ApiOption,
    JsonOption,
    api_client,
    print_json,
    print_lines,
    redact,
)

keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
audit_app = typer.Typer(help="Read and verify the hash-chained audit trail.", no_args_is_help=True)
actions_app = typer.Typer(
    help="List, show, approve, reject, execute and cancel actions; resume or fail interrupted executions.",
    no_args_is_help=True,
)

ACTION_STATUSES = ("proposed", "approved", "rejected", "executing", "succeeded", "failed", "cancelled")
"""`selfheal.act.states.ActionStatus`, named here so that the command line starts without loading act."""
RISKS = ("low", "medium", "high")

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database",
        help="Bootstrap: write straight into this database URL instead of calling the API "
        "(e.g. the first admin key, before the API has one)",
    ),
]
CommentOption = Annotated[str | None, typer.Option(help="Kept with the action and in the audit trail")]


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


def _choice(value: str | None, allowed: tuple[str, ...], option: str) -> str | None:
    if value is not None and value not in allowed:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(allowed)}", param_hint=option)
    return value


# --- keys ------------------------------------------------------------------------------------------
def _create_in_database(database: str, role: Role, name: str) -> dict[str, Any]:
    from selfheal.cli.remote import report
    from selfheal.errors import SelfhealError
    from selfheal.keys import create_key
    from selfheal.store import Store

    try:
        store = Store.open(database)  # migrates an empty database first
    except Exception as exc:
        console.print(
            f"[red]error: cannot open the database {redact(database)}: {exc}[/red]", highlight=False
        )
        raise typer.Exit(1) from None
    try:
        return create_key(store, name, role, _actor()).model_dump(mode="json")
    except SelfhealError as exc:
        report(exc)
        raise typer.Exit(1) from None
    finally:
        store.dispose()


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="viewer, operator, approver or admin")],
    name: Annotated[str, typer.Option(help="Who or what uses the key")],
    database: DatabaseOption = None,
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a key and print it. It is shown only this once; only its hash is stored.

    Through the API by default (an admin key); with --database, straight into that database (bootstrap)."""
    if database:
        new = _create_in_database(database, role, name)
        where = f"database {redact(database)}"
    else:
        with api_client(api, api_key) as client:
            new = client.create_key(name, role.value)
            where = f"the API at {client.base_url}"
    if as_json:
        print_json({**new, "created_in": where})
        return
    console.print(
        f"created {new['id']} ({new['role']}) for {new['name']} in {where}; "
        "store this key now, it is not shown again:",
        highlight=False,
        soft_wrap=True,
    )
    typer.echo(new["key"])


@keys_app.command("list")
def keys_list(api: ApiOption = None, api_key: ApiKeyOption = None, as_json: JsonOption = False) -> None:
    """Keys (never their secrets), with their role and whether they are revoked."""
    with api_client(api, api_key) as client:
        keys = client.keys()
    if as_json:
        print_lines(keys)
        return
    for k in keys:
        state = f"revoked {k['revoked_at'][:16].replace('T', ' ')}" if k.get("revoked_at") else "active"
        typer.echo(
            f"{k['id']}  {k['role']:<8}  {k['name']:<24}  created {k['created_at'][:16].replace('T', ' ')}  {state}"
        )


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id, e.g. key-1a2b3c4d5e")],
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Revoke a key: requests with it are refused (401) from now on."""
    with api_client(api, api_key) as client:
        info = client.revoke_key(key_id)
    typer.echo(f"revoked {info['id']} ({info['role']}, {info['name']})")


# --- audit -----------------------------------------------------------------------------------------
@audit_app.command("verify")
def audit_verify(
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
    database: Annotated[
        str | None, typer.Option("--database", help="Verify this database directly instead of via the API")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check the hash chain; exit code 1 when a record was edited, inserted or deleted."""
    if database:
        from dataclasses import asdict

        from selfheal import audit
        from selfheal.store import Store

        store = Store.open(database)
        try:
            with store.read() as conn:
                result = asdict(audit.verify(conn))
        finally:
            store.dispose()
    else:
        with api_client(api, api_key) as client:
            result = client.audit_verify()
    if as_json:
        print_json(result)
    elif result["ok"]:
        typer.echo(
            f"ok: {result['records']} records, chain intact; head {result['head_seq']} {result['head_hash']}"
        )
    else:
        typer.echo(
            f"BROKEN at record {result['first_bad_seq']}: {result['reason']} ({result['records']} records read)"
        )
    if not result["ok"]:
        raise typer.Exit(1)


@audit_app.command("list")
def audit_list(
    actor: Annotated[str | None, typer.Option()] = None,
    action: Annotated[str | None, typer.Option(help="Prefix, e.g. `action.`")] = None,
    target: Annotated[str | None, typer.Option(help="Target id (incident, action, key)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Audit records, newest first."""
    with api_client(api, api_key) as client:
        rows = client.audit(actor=actor, action=action, target_id=target, limit=limit)
    if as_json:
        print_lines(rows)
        return
    for r in rows:
        typer.echo(
            f"{r['seq']:>6}  {r['at'][:19].replace('T', ' ')}  {r['actor']:<16}  "
            f"{r['action']:<20}  {r['target_type']}:{r.get('target_id') or '-'}"
        )


# --- actions ---------------------------------------------------------------------------------------
def _line(a: dict[str, Any]) -> str:
    return f"{a['id']}  {a['status']:<10}  {a['risk']:<6}  {a['key']:<28}  incident {a.get('incident_id') or '-'}"


def _show(a: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(a)
        return
    typer.echo(_line(a))
    result = a.get("result") or {}
    if result.get("summary"):
        typer.echo(f"  result: {result['summary']}")


@actions_app.command("list")
def actions_list(
    status: Annotated[str | None, typer.Option(help=", ".join(ACTION_STATUSES))] = None,
    incident: Annotated[str | None, typer.Option(help="Incident id")] = None,
    risk: Annotated[str | None, typer.Option(help="low, medium or high")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Actions, newest first."""
    _choice(status, ACTION_STATUSES, "--status")
    _choice(risk, RISKS, "--risk")
    with api_client(api, api_key) as client:
        items = client.actions(incident=incident, status=status, limit=limit, risk=risk)
    if as_json:
        print_lines(items)
        return
    for a in items:
        typer.echo(_line(a))


@actions_app.command("show")
def actions_show(
    action_id: str, api: ApiOption = None, api_key: ApiKeyOption = None, as_json: JsonOption = False
) -> None:
    """One action: status, risk, approvals, comments and result."""
    with api_client(api, api_key) as client:
        a = client.action(action_id)
    if as_json:
        print_json(a)
        return
    typer.echo(_line(a))
    typer.echo(f"  {a.get('title', '')}")
    for approval in a.get("approvals") or []:
        typer.echo(f"  approved by {approval.get('by')} at {str(approval.get('at', ''))[:19]}")
    for comment in a.get("comments") or []:
        typer.echo(f"  {comment.get('by')}: {comment.get('text')}")
    result = a.get("result") or {}
    if result.get("summary"):
        typer.echo(f"  result: {result['summary']}")


def _move(
    move: str, action_id: str, comment: str | None, api: str | None, api_key: str | None, as_json: bool
) -> None:
    with api_client(api, api_key) as client:
        a = client.move_action(move, action_id, comment)  # type: ignore[arg-type]
    _show(a, as_json)


@actions_app.command("approve")
def actions_approve(
    action_id: str,
    comment: CommentOption = None,
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve a proposed action (high risk may need more than one distinct approver)."""
    _move("approve", action_id, comment, api, api_key, as_json)


@actions_app.command("reject")
def actions_reject(
    action_id: str,
    comment: CommentOption = None,
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reject a proposed action."""
    _move("reject", action_id, comment, api, api_key, as_json)


@actions_app.command("cancel")
def actions_cancel(
    action_id: str,
    comment: CommentOption = None,
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Withdraw a proposed or approved action before it runs."""
    _move("cancel", action_id, comment, api, api_key, as_json)


@actions_app.command("execute")
def actions_execute(
    action_id: str,
    comment: CommentOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show what would happen")] = False,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Wait for the result, or return once it is running")
    ] = True,
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Execute an approved action exactly once; exit code 1 when the execution failed."""
    with api_client(api, api_key) as client:
        a = client.execute_action(action_id, comment, dry_run=dry_run, wait=wait)
    _show(a, as_json)
    if a["status"] == "failed":
        raise typer.Exit(1)


@actions_app.command("stale")
def actions_stale(api: ApiOption = None, api_key: ApiKeyOption = None, as_json: JsonOption = False) -> None:
    """Executions whose lease ran out (the process running them stopped)."""
    with api_client(api, api_key) as client:
        items = client.stale_actions()
    if as_json:
        print_lines(items)
        return
    for a in items:
        lease = str(a.get("lease_until") or "-")[:19].replace("T", " ")
        typer.echo(f"{_line(a)}  lease ended {lease}")


@actions_app.command("resume")
def actions_resume(
    action_id: str,
    force: Annotated[bool, typer.Option(help="Take over before the lease runs out")] = False,
    comment: CommentOption = None,
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run an interrupted execution again."""
    with api_client(api, api_key) as client:
        a = client.resume_action(action_id, force=force, comment=comment)
    _show(a, as_json)
    if a["status"] == "failed":
        raise typer.Exit(1)


@actions_app.command("fail")
def actions_fail(
    action_id: str,
    reason: Annotated[str, typer.Option(help="Why it is given up")],
    force: Annotated[bool, typer.Option(help="Before the lease runs out")] = False,
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Mark an interrupted execution failed."""
    with api_client(api, api_key) as client:
        a = client.fail_action(action_id, reason, force=force)
    _show(a, as_json)
