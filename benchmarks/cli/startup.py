"""`selfheal --help` wall time: RUNS fresh interpreters, median and worst (seconds).

PYTHONPATH=src python -m benchmarks.cli.startup [RUNS]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def measure(runs: int = 10) -> dict[str, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "selfheal.cli", "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return {"runs": runs, "median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3)}


if __name__ == "__main__":
    print(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 10))
