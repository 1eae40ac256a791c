"""Running a costly parse of untrusted bytes with a CPU budget: in a forked child process with an RLIMIT_CPU
and a wall-clock deadline, killed when either passes (a thread cannot be stopped; a process can), or as soon
as the caller says the work is no longer wanted (its client disconnected). The child sends back the result
or the product error it raised; a budget overrun is a 422 naming the reason."""

from __future__ import annotations

import math
import multiprocessing
import os
import resource
import stat
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from selfheal.errors import Cancelled, InvalidInput, SelfhealError

T = TypeVar("T")
WALL_FACTOR = 3
"""Wall-clock deadline as a multiple of the CPU budget (the machine may be shared)."""
POLL_SECONDS = 0.1
"""How often the parent looks for the result and asks whether the work is still wanted."""

CancelCheck = Callable[[], bool]
"""True when the work is no longer wanted (checked between steps; the work then stops with `Cancelled`)."""


def _close_inherited_sockets() -> None:
    """Close the sockets the fork copied (client and database connections): a connection the server or its
    client closes must not stay open in a reading child. Files (the interpreter's own, captured output) stay."""
    for name in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else ():
        fd = int(name)
        if fd < 3:
            continue
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.close(fd)
        except OSError:  # the directory's own descriptor, gone by now
            continue


def _child(send: Connection, work: Callable[[bytes], Any], data: bytes, cpu_seconds: int) -> None:
    _close_inherited_sockets()
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


def _wait(receive: Connection, deadline: float, cancelled: CancelCheck | None) -> tuple[str, Any]:
    """The child's message, or ("timeout", None) past the deadline, or ("cancelled", None)."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return "timeout", None
        if receive.poll(min(POLL_SECONDS, left)):
            status, payload = receive.recv()
            return status, payload
        if cancelled is not None and cancelled():
            return "cancelled", None


def run_with_budget(
    work: Callable[[bytes], T],
    data: bytes,
    cpu_seconds: float,
    what: str,
    cancelled: CancelCheck | None = None,
) -> T:
    """`work(data)` in a child process with `cpu_seconds` of CPU (and `WALL_FACTOR` times that of wall
    time); the child is killed at once when `cancelled()` turns true (`Cancelled` is raised)."""
    limit = max(1, math.ceil(cpu_seconds))
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(send, work, data, limit), daemon=True)
    child.start()
    send.close()
    try:
        status, payload = _wait(receive, time.monotonic() + limit * WALL_FACTOR, cancelled)
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
    if status == "cancelled":
        raise Cancelled(f"reading the {what} was stopped: its client went away", {"reason": "cancelled"})
    raise InvalidInput(
        f"{what} took more than its budget of {cpu_seconds:g} CPU seconds to read; nothing was stored",
        {"reason": "too_costly", "budget_seconds": cpu_seconds, "budget": "document"},
    )
