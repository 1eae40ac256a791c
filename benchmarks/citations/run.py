"""Runbook citation benchmark (the logic lives in `selfheal.bench.citations`).

PYTHONPATH=src python -m benchmarks.citations.run --seeds 4 --out docs/benchmarks/citations.json
"""

from __future__ import annotations

from selfheal.bench.citations import main

if __name__ == "__main__":
    raise SystemExit(main())
