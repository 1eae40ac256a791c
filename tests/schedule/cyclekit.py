"""Helpers for the scheduling tests: a simulated webhook fault loaded into a store, cycles run concurrently."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from selfheal.simulate import FaultSpec, SimConfig, load_into, simulate
from selfheal.store import Store

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
FAULT_AS_OF = T0 + timedelta(minutes=150)
QUIET_AS_OF = T0 + timedelta(minutes=80)

R = TypeVar("R")


def load_webhook_fault(store: Store, merchants: int = 20) -> None:
    """Six hours of history, then a webhook fault on wave_1 from T0+90 min for an hour."""
    fault = FaultSpec(
        name="webhook_403", start=T0 + timedelta(minutes=90), duration_minutes=60, stages=("wave_1",)
    )
    history = timedelta(hours=6)
    result = simulate(
        SimConfig(seed=3, merchants=merchants, start=T0 - history, minutes=180 + 360, faults=(fault,))
    )
    load_into(store, result)


def all_at_once(n: int, work: Callable[[int], R]) -> list[R | BaseException]:
    """Run `work(i)` for i in range(n) in n threads released together; results or raised exceptions."""
    barrier = threading.Barrier(n)
    results: list[R | BaseException] = [RuntimeError("not run")] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except BaseException as exc:  # reported to the test, which asserts on it
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
