"""`selfheal bench ingest`: post log events through the HTTP API and measure throughput and API memory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import psutil
from rich.console import Console

from selfheal.client import SelfhealClient
from selfheal.records import ms_to_dt

ENDPOINTS = (
    "POST /api/checkout",
    "GET /api/cart",
    "POST /payments/authorize",
    "POST /webhooks/order-created",
)
SOURCES = ("api", "api", "payment", "webhook")


def make_batches(events: int, batch_size: int, t0_ms: int) -> list[bytes]:
    """Pre-encoded NDJSON batches of realistic log events (ids included, one per event)."""
    batches = []
    for start in range(0, events, batch_size):
        lines = []
        for i in range(start, min(start + batch_size, events)):
            k = i % 4
            status = 200 if i % 50 else (403 if k == 3 else 500)
            lines.append(
                orjson.dumps(
                    {
                        "id": f"b{i}",
                        "ts": ms_to_dt(t0_ms + i * 3),
                        "merchant_id": f"m{i % 200:03d}",
                        "source": SOURCES[k],
                        "endpoint": ENDPOINTS[k],
                        "status_code": status,
                        "latency_ms": float(50 + (i * 7919) % 900),
                        "migration_stage": ("legacy", "pilot", "wave_1", "wave_2", "headless")[i % 5],
                        "event": "payment.succeeded" if k == 2 else ("order.created" if k == 3 else None),
                        "correlation_id": f"c{i // 4}" if k >= 2 else None,
                    }
                )
            )
        batches.append(b"\n".join(lines))
    return batches


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _MemoryWatch(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.peak = 0
        self.samples: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                rss = self.proc.memory_info().rss + sum(c.memory_info().rss for c in self.proc.children(True))
            except psutil.Error:
                return
            self.peak = max(self.peak, rss)
            self.samples.append(rss)
            time.sleep(0.1)


def run_ingest_benchmark(
    events: int,
    batch_size: int,
    concurrency: int,
    api_url: str | None,
    database_url: str | None,
    console: Console,
    workers: int = 1,
) -> dict[str, Any]:
    server: subprocess.Popen[bytes] | None = None
    tmp = tempfile.mkdtemp(prefix="selfheal-bench-")
    if api_url is None:
        port = _free_port()
        env = dict(os.environ)
        env.update(
            SELFHEAL_DATABASE_URL=database_url or f"sqlite:///{Path(tmp) / 'bench.db'}",
            SELFHEAL_AUTH_MODE="open",
        )
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "selfheal.api.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--workers",
                str(workers),
            ],
            env=env,
        )
        api_url = f"http://127.0.0.1:{port}"
    client = SelfhealClient(api_url, timeout=600)
    try:
        client.wait_until_ready(timeout=60)
        console.print(f"encoding {events:,} events in batches of {batch_size:,} ...")
        batches = make_batches(events, batch_size, t0_ms=int(time.time() * 1000) - events * 3)
        watch = _MemoryWatch(server.pid) if server else None
        if watch:
            watch.start()
        rss_start = watch.proc.memory_info().rss if watch else 0
        stored = 0
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            for counts in pool.map(lambda body: client.ingest("logs", body), batches):
                stored += counts.stored
        elapsed = time.perf_counter() - started
        if watch:
            watch.stop.set()
            watch.join()
        report: dict[str, Any] = {
            "events": events,
            "stored": stored,
            "batch_size": batch_size,
            "concurrency": concurrency,
            "api_workers": workers if server else None,
            "seconds": round(elapsed, 2),
            "events_per_second": round(events / elapsed),
            "api_rss_start_mb": round(rss_start / 2**20, 1),
            "api_rss_peak_mb": round(watch.peak / 2**20, 1) if watch else None,
            "api_rss_end_mb": round(watch.samples[-1] / 2**20, 1) if watch and watch.samples else None,
            # RSS at each quarter of the run: flat means the API streams batches instead of holding them.
            "api_rss_by_quarter_mb": [
                round(watch.samples[min(len(watch.samples) - 1, len(watch.samples) * q // 4)] / 2**20, 1)
                for q in (1, 2, 3, 4)
            ]
            if watch and watch.samples
            else None,
            "cpu_count": os.cpu_count(),
        }
        return report
    finally:
        client.close()
        if server:
            server.terminate()
            server.wait(timeout=30)
