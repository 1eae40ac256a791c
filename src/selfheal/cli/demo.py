"""`selfheal demo`: the API and UI on the embedded database, fed by a live simulated migration.

1. Backfill: the merchants go into the merchant directory, then a week of per-minute KPIs and the last hours of
   logs and tickets go straight into the database. Tickets and KPI points carry no migration stage: each
   cycle takes it from the directory.
2. Start the API (open demo mode: no key needed) and the UI as child processes.
3. Replay the last minutes at `speed`, posting every minute's signals over HTTP and running an agent cycle
   every `demo_cycle_minutes` simulated minutes; once caught up, follow the wall clock minute by minute and
   leave the cycles to the scheduler: a `selfheal worker` process (SELFHEAL_CYCLE_EVERY =
   `demo_cycle_minutes` minutes), as in production.
A webhook fault starts on stage wave_1 shortly before "now"; when an action for that incident has executed,
the simulated fault stops, so the demo visibly heals.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console

from selfheal.client import ApiError, SelfhealClient
from selfheal.client.batches import ndjson_batches
from selfheal.settings import Settings
from selfheal.simulate import FaultSpec, SimConfig, load_into, simulate
from selfheal.simulate.faults import CATEGORY_OF
from selfheal.store import Store

HISTORY_DAYS = 7
LOG_HOURS = 3
CATCH_UP_MINUTES = 20
FAULT_LEAD_MINUTES = 15
DEMO_FAULT = "webhook_403"
DEMO_STAGE = "wave_1"
API_START_SECONDS = 90
MINUTE_BATCH = 10_000
"""Signals per request: a simulated minute of the demo's merchants is far smaller, so one request per kind."""


class LiveFeed:
    """Generates and posts the simulation minute by minute; ends the fault when it has been mitigated."""

    def __init__(
        self, settings: Settings, client: SelfhealClient, fault: FaultSpec, console: Console
    ) -> None:
        self.settings = settings
        self.client = client
        self.fault = fault
        self.console = console
        self.pending_tickets: list[Any] = []
        self.healed_at: datetime | None = None

    def _faults(self) -> tuple[FaultSpec, ...]:
        if self.healed_at is None:
            return (self.fault,)
        minutes = max(1, int((self.healed_at - self.fault.start).total_seconds() // 60))
        return (self.fault.model_copy(update={"duration_minutes": minutes}),)

    def minute(self, ts: datetime) -> None:
        result = simulate(
            SimConfig(
                seed=self.settings.demo_seed,
                merchants=self.settings.demo_merchants,
                start=ts,
                minutes=1,
                faults=self._faults(),
                keep_late_tickets=True,
                stages_from_directory=True,
            )
        )
        self.client.ingest_batches("metrics", ndjson_batches(result.metrics, MINUTE_BATCH))
        self.client.ingest_batches("logs", ndjson_batches(result.logs, MINUTE_BATCH))
        self.pending_tickets.extend(result.tickets)
        due = [t for t in self.pending_tickets if t.created_at < ts + timedelta(minutes=1)]
        self.pending_tickets = [t for t in self.pending_tickets if t.created_at >= ts + timedelta(minutes=1)]
        self.client.ingest_batches("tickets", ndjson_batches(due, MINUTE_BATCH))

    def cycle(self, as_of: datetime) -> None:
        try:
            data = self.client.run_cycle(as_of.isoformat(), use_llm=False)
        except ApiError as exc:
            self.console.print(f"[red]cycle failed: {exc.status or 'no answer'} {exc.message[:200]}[/red]")
            return
        incident = data["outcome"]["incident_id"]
        note = f"incident {incident}: {data['assessment']['title']}" if incident else "no incident"
        self.console.print(f"[cyan]{as_of:%H:%M}[/cyan] cycle {data['cycle_id']}: {note}")
        self.check_healed(as_of)

    def check_healed(self, now: datetime) -> None:
        """The fault stops once an executed action's simulated effect heals its category."""
        if self.healed_at is not None:
            return
        try:
            succeeded = self.client.actions(status="succeeded")
        except ApiError:
            return
        category = CATEGORY_OF[self.fault.name]
        for action in succeeded:
            effect = (action.get("result") or {}).get("effect") or {}
            if effect.get("heals") and effect.get("category") == category:
                self.healed_at = now
                self.console.print(
                    f"[green]{now:%H:%M} action {action.get('key')} executed: the {category} fault is mitigated[/green]"
                )
                return


def _start_worker(env: dict[str, str], settings: Settings, console: Console) -> subprocess.Popen[bytes]:
    """The scheduler that runs the live part's cycles: `selfheal worker`, a cycle every demo period."""
    worker_env = {**env, "SELFHEAL_CYCLE_EVERY": str(settings.demo_cycle_minutes * 60)}
    console.print(
        f"caught up: the scheduler (selfheal worker) runs a cycle every {settings.demo_cycle_minutes} min"
    )
    return _child(["worker"], worker_env)


def _child(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A `selfheal` child process in its own session: the terminal's Ctrl-C reaches only the demo, which
    stops its children itself (`stop_children`) instead of each printing its own traceback."""
    return subprocess.Popen([sys.executable, "-m", "selfheal.cli", *args], env=env, start_new_session=True)


STOP_SECONDS = 10.0
"""How long the children get to stop after SIGTERM before they are killed."""


def stop_children(procs: list[subprocess.Popen[bytes]], timeout: float = STOP_SECONDS) -> None:
    """SIGTERM every child, wait for them together up to `timeout` s, then SIGKILL the ones still running."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _run_live(feed: LiveFeed, sim: datetime, rate: float, start_scheduler: Callable[[], None]) -> None:
    """Post minute by minute from `sim`: at `rate` while behind the wall clock (with a cycle every demo
    period), then following it, with the scheduler started once caught up."""
    period = feed.settings.demo_cycle_minutes
    scheduled = False
    while True:
        started = time.time()
        feed.minute(sim)
        sim += timedelta(minutes=1)
        wall = datetime.now(UTC)
        caught_up = sim >= wall - timedelta(minutes=1)
        if caught_up and not scheduled:
            start_scheduler()
            scheduled = True
        elif not caught_up and int(sim.timestamp() // 60) % period == 0:
            feed.cycle(sim)
        if caught_up:
            feed.check_healed(sim)
        pause = 60 / rate if not caught_up else (sim + timedelta(minutes=1) - wall).total_seconds()
        time.sleep(max(0.0, pause - (time.time() - started)))


def run_demo(settings: Settings, speed: float | None, with_ui: bool, console: Console) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    live_from = now - timedelta(minutes=CATCH_UP_MINUTES)
    fault = FaultSpec(
        name=DEMO_FAULT,
        start=now - timedelta(minutes=FAULT_LEAD_MINUTES),
        duration_minutes=24 * 60,
        stages=(DEMO_STAGE,),
    )
    console.print(f"[bold]selfheal demo[/bold]: database {settings.resolved_database_url()}")
    store = Store.open(settings.resolved_database_url())
    t0 = time.time()
    history_start = live_from - timedelta(days=HISTORY_DAYS)
    backfill = simulate(
        SimConfig(
            seed=settings.demo_seed,
            merchants=settings.demo_merchants,
            start=history_start,
            minutes=int((live_from - history_start).total_seconds() // 60),
            faults=(fault,),
            logs_from=live_from - timedelta(hours=LOG_HOURS),
            stages_from_directory=True,
        )
    )
    load_into(store, backfill, actor="demo", with_directory=True)
    from selfheal.knowledge.base import knowledge_base
    from selfheal.knowledge.starter import load_starter_runbooks

    loaded = load_starter_runbooks(knowledge_base(store, settings), actor="demo")
    store.dispose()
    console.print(
        f"directory: {len(backfill.truth.merchants)} merchants; "
        f"backfilled {len(backfill.metrics):,} metric points, {len(backfill.logs):,} log events, "
        f"{len(backfill.tickets):,} tickets in {time.time() - t0:.1f} s; "
        f"{len(loaded.documents)} starter runbooks ({loaded.chunks} chunks) in the knowledge base"
    )

    env = dict(os.environ)
    env["SELFHEAL_AUTH_MODE"] = "open"
    env.setdefault("SELFHEAL_ACT_ALLOW_SELF_APPROVAL", "true")  # open mode: every caller is "demo"
    env["SELFHEAL_DATABASE_URL"] = settings.resolved_database_url()
    api_url = f"http://{settings.api_host}:{settings.api_port}"
    env["SELFHEAL_API_URL"] = api_url
    procs = [_child(["api"], env)]
    if with_ui:
        procs.append(_child(["ui"], env))
    # Open demo mode: the API needs no key, so none is sent.
    client = SelfhealClient(api_url, api_key=None)
    try:
        client.wait_until_ready(timeout=API_START_SECONDS)
        console.print(f"API  {api_url}  (docs: {api_url}/docs)")
        if with_ui:
            console.print(f"UI   http://{settings.api_host}:{settings.ui_port}")
        console.print(
            f"fault {DEMO_FAULT} on stage {DEMO_STAGE} since {fault.start:%H:%M} UTC; Ctrl-C stops the demo"
        )
        rate = speed or settings.demo_speed
        feed = LiveFeed(settings, client, fault, console)
        _run_live(feed, live_from, rate, lambda: procs.append(_start_worker(env, settings, console)))
    finally:  # Ctrl-C (the CLI's Interrupted), an error or the end: the children stop with the demo
        client.close()
        stop_children(procs)
