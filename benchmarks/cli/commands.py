"""Wall time of `selfheal cycle` and `selfheal runbooks search` run as a user runs them: a fresh process, a
client of a running API (the embedding model, if any, lives in the API server, not in the CLI).

    PYTHONPATH=src python -m benchmarks.cli.commands --api http://127.0.0.1:8000 --api-key KEY \
        --as-of 2024-03-06T12:00:00Z --runs 5

Each command runs once to warm the server (its first search loads the embedding model; reported apart), then
RUNS times, interleaved with the same request sent straight to the API: median and worst wall time of the
process, and the median of the direct request (what the server itself takes; the rest is the CLI process: interpreter, imports, HTTP, printing).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx

QUERY = "webhook signature 403"


def _timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def _cli(*args: str) -> Callable[[], object]:
    def run() -> object:
        return subprocess.run(
            [sys.executable, "-m", "selfheal.cli", *args],
            check=True,
            capture_output=True,
            env={**os.environ},
        )

    return run


def _summary(times: list[float]) -> dict[str, float]:
    return {"median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3)}


def measure(api: str, api_key: str, as_of: str, runs: int) -> dict[str, Any]:
    target = ("--api", api, "--api-key", api_key)
    headers = {"x-api-key": api_key}
    commands: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
        "selfheal cycle": (
            _cli("cycle", "--as-of", as_of, "--json", *target),
            lambda: httpx.post(
                f"{api}/run_cycle", json={"as_of": as_of}, headers=headers, timeout=600
            ).raise_for_status(),
        ),
        "selfheal runbooks search": (
            _cli("runbooks", "search", QUERY, "--json", *target),
            lambda: httpx.get(
                f"{api}/runbooks/search",
                params={"q": QUERY, "top": 10, "mode": "hybrid"},
                headers=headers,
                timeout=600,
            ).raise_for_status(),
        ),
    }
    out: dict[str, Any] = {"runs": runs, "api": api, "as_of": as_of}
    for name, (cli, direct) in commands.items():
        first = _timed(cli)
        cli_times: list[float] = []
        api_times: list[float] = []
        for _ in range(runs):  # interleaved, so both see the same load
            cli_times.append(_timed(cli))
            api_times.append(_timed(direct))
        out[name] = {
            "first_s": round(first, 3),
            "cli": _summary(cli_times),
            "api_only_median_s": round(statistics.median(api_times), 3),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", required=True, help="base URL of a running API")
    parser.add_argument("--api-key", default=os.environ.get("SELFHEAL_API_KEY", ""))
    parser.add_argument("--as-of", required=True, help="the cycles' as_of (ISO), inside the API's data")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.api, args.api_key, args.as_of, args.runs), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
