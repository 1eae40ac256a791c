"""Scenario benchmark for the decide stage (the logic lives in `selfheal.bench.scenarios`).

PYTHONPATH=src python -m benchmarks.scenarios.run --seeds 5 --out docs/benchmarks/decide.json
"""

from __future__ import annotations

from selfheal.bench.scenarios import main

if __name__ == "__main__":
    raise SystemExit(main())
