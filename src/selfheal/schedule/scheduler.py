"""The scheduler: run a cycle every `cycle_every` seconds, in exactly one process of many.

Why a small loop and not a scheduling library: what we need is one fixed-period job whose `as_of` is the
period boundary, a leadership check before every run and a skip rule that reads the database (was this
period's cycle already stored, by this process or a previous leader?). APScheduler, the well-kept option,
would give us the timer and its own misfire rule, but not the leadership, and its persistent job stores
elect nobody: every process would still run the job. The loop below is the timer; leadership is the
database's (`schedule.leader`).

The rule for periods:
- The cycle for the period ending at T (T a multiple of `cycle_every` seconds since the epoch, UTC) runs at
  T + `cycle_lag_seconds` with `as_of = T`, so signals that arrive a little late are in its window.
- Each period's cycle runs once: a period whose cycle is stored (`cycle_runs.as_of`) is not run again, so a
  new leader after a failover does not repeat its predecessor's last cycle.
- Missed periods are skipped, not caught up: when the scheduler falls behind (a cycle longer than the
  period, a process paused, a failover), the next run is for the latest due period only. The window of a
  cycle (`window_minutes`) looks back over the skipped periods, so their signals are still assessed, and
  incident lifecycles count cycles that saw current data rather than a burst of stale replays.
- Every tick, the leader also recovers automatic actions left behind by a stopped process (`act.recovery`).
- The leader pulls the configured Prometheus source (`connect.prometheus`) every `prometheus_pull_every`
  seconds, before the cycle, reading the last `prometheus_lookback_minutes` (points already stored stay, so
  overlapping pulls store nothing twice). A failed pull is logged and counted; it never stops the cycle.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from selfheal.act.recovery import recover
from selfheal.connect.prometheus import PromSource, PullResult, configured_source, pull
from selfheal.cycle import CycleDeps, CycleResult, run_cycle
from selfheal.errors import SelfhealError
from selfheal.records import dt_to_ms, ms_to_dt, utcnow
from selfheal.schedule.leader import Leadership
from selfheal.store import incidents_repo

log = logging.getLogger("selfheal.schedule")

ACTOR = "scheduler"
FOLLOWER_POLL_MAX_SECONDS = 5.0
"""A follower asks for leadership at least this often, and four times per period on short periods, so a
dead leader is replaced well within one period."""


@dataclass
class SchedulerState:
    """What the scheduler did last (for /metrics and the logs)."""

    leader: bool = False
    last_as_of: datetime | None = None
    last_cycle_seconds: float | None = None
    cycles: int = 0
    skipped_periods: int = 0
    errors: int = 0
    recovered: int = 0
    pulls: int = 0
    pull_errors: int = 0
    pulled_points: int = 0
    stage_seconds: dict[str, float] = field(default_factory=dict)


class Scheduler:
    def __init__(
        self,
        deps: CycleDeps,
        clock: Callable[[], datetime] = utcnow,
        on_cycle: Callable[[CycleResult], None] | None = None,
    ) -> None:
        if deps.settings.cycle_every <= 0:
            raise ValueError("the scheduler needs cycle_every > 0 (SELFHEAL_CYCLE_EVERY)")
        self.deps = deps
        self.every_ms = deps.settings.cycle_every * 1000
        self.lag_ms = deps.settings.cycle_lag_seconds * 1000
        self.clock = clock
        self.on_cycle = on_cycle
        self.leadership = Leadership(deps.store)
        self.state = SchedulerState()
        self.source: PromSource | None = (
            configured_source(deps.settings) if deps.settings.prometheus_pull_every > 0 else None
        )
        self.pull_every_ms = deps.settings.prometheus_pull_every * 1000
        self._next_pull_ms = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- one tick ---------------------------------------------------------------------------------
    def due(self, now: datetime) -> datetime:
        """The end of the latest period whose cycle is due at `now` (its lag included)."""
        ms = dt_to_ms(now) - self.lag_ms
        return ms_to_dt(ms - ms % self.every_ms)

    def tick(self) -> CycleResult | None:
        """Lead or follow; as the leader, run the due period's cycle unless it is stored. The result, or
        None when this process follows or the period already ran."""
        self.state.leader = self.leadership.lead()
        if not self.state.leader:
            return None
        self.pull_sources()
        as_of = self.due(self.clock())
        with self.deps.store.read() as conn:
            done = incidents_repo.cycle_ran(conn, dt_to_ms(as_of))
        if done:
            self.state.recovered += len(recover(self.deps.store, self.deps.settings))
            return None
        self._count_skipped(as_of)
        started = time.perf_counter()
        result = run_cycle(self.deps, as_of=as_of, actor=ACTOR)
        self._record(result, time.perf_counter() - started)
        return result

    def pull_sources(self) -> PullResult | None:
        """Pull the Prometheus source when its period is due (the leader only); None when nothing was due."""
        if self.source is None:
            return None
        now = self.clock()
        if dt_to_ms(now) < self._next_pull_ms:
            return None
        self._next_pull_ms = dt_to_ms(now) + self.pull_every_ms
        since = now - timedelta(minutes=self.deps.settings.prometheus_lookback_minutes)
        try:
            result = pull(self.deps.store, self.deps.settings, self.source, since=since, until=now)
        except SelfhealError as exc:
            self.state.pull_errors += 1
            log.warning("Prometheus pull failed: %s", exc.message)
            return None
        self.state.pulls += 1
        self.state.pulled_points += result.stored
        log.info("Prometheus pull: %d point(s) stored, %d already stored", result.stored, result.duplicates)
        return result

    def _count_skipped(self, as_of: datetime) -> None:
        last = self.state.last_as_of
        if last is not None:
            missed = (dt_to_ms(as_of) - dt_to_ms(last)) // self.every_ms - 1
            if missed > 0:
                self.state.skipped_periods += missed
                log.warning("skipped %d missed period(s) before %s", missed, as_of.isoformat())

    def _record(self, result: CycleResult, seconds: float) -> None:
        s = self.state
        s.last_as_of, s.last_cycle_seconds, s.cycles = result.as_of, seconds, s.cycles + 1
        s.recovered += len(result.recovered)
        s.stage_seconds = {k: v / 1000 for k, v in result.stage_ms.items()}
        log.info(
            "cycle %s as_of %s in %.2f s: incident %s",
            result.cycle_id,
            result.as_of.isoformat(),
            seconds,
            result.outcome.incident_id,
        )
        if self.on_cycle is not None:
            self.on_cycle(result)

    # --- the loop ---------------------------------------------------------------------------------
    def seconds_to_next(self) -> float:
        """How long to wait: the leader until its next period is due, a follower until it asks again."""
        now_ms = dt_to_ms(self.clock())
        next_due = dt_to_ms(self.due(self.clock())) + self.every_ms + self.lag_ms
        wait = max(0.05, (next_due - now_ms) / 1000)
        if self.state.leader:
            if self.source is not None:  # the next Prometheus pull may come first
                wait = min(wait, max(0.05, (self._next_pull_ms - now_ms) / 1000))
            return wait
        return min(wait, FOLLOWER_POLL_MAX_SECONDS, max(0.25, self.every_ms / 4000))

    def run(self) -> None:
        """Tick until `stop()`; an error in one tick is logged and the loop goes on (a database restart, a
        failing cycle must not stop the scheduler). Resigns leadership on the way out."""
        log.info("scheduler started: a cycle every %d s", self.every_ms // 1000)
        try:
            while not self._stop.is_set():
                try:
                    self.tick()
                except Exception:
                    self.state.errors += 1
                    log.exception("scheduled cycle failed")
                self._stop.wait(self.seconds_to_next())
        finally:
            self.leadership.resign()
            self.state.leader = False
            log.info("scheduler stopped")

    def start(self) -> threading.Thread:
        """Run the loop in a daemon thread (the API's scheduler)."""
        self._thread = threading.Thread(target=self.run, name="selfheal-scheduler", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float | None = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
