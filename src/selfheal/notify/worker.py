"""A background delivery thread: the cycle kicks it after committing (so a slow or hanging receiver never
holds a cycle up), and between kicks it wakes when the next retry is due or every `notify_poll_seconds`.
Every API process and worker may run one: claims keep them from sending a row twice."""

from __future__ import annotations

import logging
import threading

from selfheal.notify.deliver import Deliverer
from selfheal.settings import Settings
from selfheal.store import Store

log = logging.getLogger("selfheal.notify")


class Notifier:
    def __init__(self, store: Store, settings: Settings, deliverer: Deliverer | None = None) -> None:
        self.deliverer = deliverer or Deliverer(store, settings)
        self.poll_seconds = settings.notify_poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def kick(self) -> None:
        """Deliver now (returns at once)."""
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="selfheal-notify", daemon=True)
            self._thread.start()

    def stop(self, timeout: float | None = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.deliverer.deliver_due()
                due = self.deliverer.next_due_seconds()
            except Exception:  # a database hiccup must not end the thread; the next round retries
                log.exception("notification delivery failed")
                due = None
            wait = self.poll_seconds if due is None else min(self.poll_seconds, max(due, 0.05))
            self._wake.wait(wait)
            self._wake.clear()
