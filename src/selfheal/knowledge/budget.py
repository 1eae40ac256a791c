"""Running a costly parse of untrusted bytes with a CPU budget: in a forked child process with an RLIMIT_CPU
and a wall-clock deadline, killed when either passes (a thread cannot be stopped; a process can). The child
sends back the result or the product error it raised; a budget overrun is a 422 naming the reason."""

from __future__ import annotations

import multiprocessing
import resource
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from selfheal.errors import InvalidInput, SelfhealError

T = TypeVar("T")
WALL_FACTOR = 3
"""Wall-clock deadline as a multiple of the CPU budget (the machine may be shared)."""


def _child(send: Connection, work: Callable[[bytes], Any], data: bytes, cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    try:
        send.send(("ok", work(data)))
    except SelfhealError as exc:
        send.send(("error", (type(exc), exc.message, exc.details)))
    except Exception as exc:  # an unexpected library failure on hostile bytes is bad input, not a 500
        send.send(
            ("error", (InvalidInput, f"could not be read ({type(exc).__name__})", {"reason": "broken"}))
        )
    finally:
        send.close()


def run_with_budget(work: Callable[[bytes], T], data: bytes, cpu_seconds: int, what: str) -> T:
    """`work(data)` in a child process with `cpu_seconds` of CPU (and `WALL_FACTOR` times that of wall time)."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(send, work, data, cpu_seconds), daemon=True)
    child.start()
    send.close()
    try:
        if receive.poll(cpu_seconds * WALL_FACTOR):
            status, payload = receive.recv()
        else:
            status, payload = "timeout", None
    except EOFError:  # the child died (CPU limit reached: SIGXCPU/SIGKILL)
        status, payload = "timeout", None
    finally:
        receive.close()
        if child.is_alive():
            child.kill()
        child.join()
    if status == "ok":
        return payload  # type: ignore[no-any-return]
    if status == "error":
        kind, message, details = payload
        raise kind(message, details)
    raise InvalidInput(
        f"{what} took more than its budget of {cpu_seconds} CPU seconds to read; nothing was stored",
        {"reason": "too_costly", "budget_seconds": cpu_seconds},
    )
