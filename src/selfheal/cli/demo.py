"""`selfheal demo`: the API and UI on the embedded database, fed by a live simulated migration.

1. Backfill: a week of per-minute KPIs and the last hours of logs and tickets go straight into the database.
2. Start the API (open demo mode: no key needed) and the UI as child processes.
3. Replay the last minutes at `speed`, then follow the wall clock minute by minute, posting every minute's
   signals over HTTP and running an agent cycle every `demo_cycle_minutes` simulated minutes.
A webhook fault starts on stage wave_1 shortly before "now"; when an action for that incident has executed,
the simulated fault stops, so the demo visibly heals.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from rich.console import Console

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


class LiveFeed:
    """Generates and posts the simulation minute by minute; ends the fault when it has been mitigated."""

    def __init__(self, settings: Settings, client: httpx.Client, fault: FaultSpec, console: Console) -> None:
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

    def _post(self, kind: str, items: list[Any]) -> None:
        if not items:
            return
        body = b"\n".join(orjson.dumps(i.model_dump(mode="json", exclude_none=True)) for i in items)
        response = self.client.post(
            f"/ingest/{kind}", content=body, headers={"content-type": "application/x-ndjson"}
        )
        response.raise_for_status()

    def minute(self, ts: datetime) -> None:
        result = simulate(
            SimConfig(
                seed=self.settings.demo_seed,
                merchants=self.settings.demo_merchants,
                start=ts,
                minutes=1,
                faults=self._faults(),
                keep_late_tickets=True,
            )
        )
        self._post("metrics", list(result.metrics))
        self._post("logs", list(result.logs))
        self.pending_tickets.extend(result.tickets)
        due = [t for t in self.pending_tickets if t.created_at < ts + timedelta(minutes=1)]
        self.pending_tickets = [t for t in self.pending_tickets if t.created_at >= ts + timedelta(minutes=1)]
        self._post("tickets", due)

    def cycle(self, as_of: datetime) -> None:
        response = self.client.post("/run_cycle", json={"as_of": as_of.isoformat(), "use_llm": False})
        if response.status_code != 200:
            self.console.print(f"[red]cycle failed: {response.status_code} {response.text[:200]}[/red]")
            return
        data = response.json()
        incident = data["outcome"]["incident_id"]
        note = f"incident {incident}: {data['assessment']['title']}" if incident else "no incident"
        self.console.print(f"[cyan]{as_of:%H:%M}[/cyan] cycle {data['cycle_id']}: {note}")
        self._check_healed(as_of)

    def _check_healed(self, now: datetime) -> None:
        """The fault stops once an executed action's simulated effect heals its category."""
        if self.healed_at is not None:
            return
        response = self.client.get("/actions", params={"status": "succeeded"})
        if response.status_code != 200:
            return
        category = CATEGORY_OF[self.fault.name]
        for action in response.json():
            effect = (action.get("result") or {}).get("effect") or {}
            if effect.get("heals") and effect.get("category") == category:
                self.healed_at = now
                self.console.print(
                    f"[green]{now:%H:%M} action {action.get('key')} executed: the {category} fault is mitigated[/green]"
                )
                return


def _wait_for(url: str, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


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
        )
    )
    load_into(store, backfill, actor="demo")
    from selfheal.knowledge.base import knowledge_base
    from selfheal.knowledge.starter import load_starter_runbooks

    loaded = load_starter_runbooks(knowledge_base(store, settings), actor="demo")
    store.dispose()
    console.print(
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
    procs = [subprocess.Popen([sys.executable, "-m", "selfheal.cli", "api"], env=env)]
    if with_ui:
        procs.append(subprocess.Popen([sys.executable, "-m", "selfheal.cli", "ui"], env=env))
    try:
        _wait_for(f"{api_url}/health")
        console.print(f"API  {api_url}  (docs: {api_url}/docs)")
        if with_ui:
            console.print(f"UI   http://{settings.api_host}:{settings.ui_port}")
        console.print(
            f"fault {DEMO_FAULT} on stage {DEMO_STAGE} since {fault.start:%H:%M} UTC; Ctrl-C stops the demo"
        )
        rate = speed or settings.demo_speed
        with httpx.Client(base_url=api_url, timeout=120) as client:
            feed = LiveFeed(settings, client, fault, console)
            sim = live_from
            while True:
                started = time.time()
                feed.minute(sim)
                sim += timedelta(minutes=1)
                if int(sim.timestamp() // 60) % settings.demo_cycle_minutes == 0:
                    feed.cycle(sim)
                wall = datetime.now(UTC)
                pause = (
                    60 / rate
                    if sim < wall - timedelta(minutes=1)
                    else (sim + timedelta(minutes=1) - wall).total_seconds()
                )
                time.sleep(max(0.0, pause - (time.time() - started)))
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
