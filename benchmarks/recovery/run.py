"""Recovery benchmark (the logic lives in `selfheal.bench.recovery`).

PYTHONPATH=src python -m benchmarks.recovery.run --seeds 3 --out docs/benchmarks/recovery.json
"""

from __future__ import annotations

from selfheal.bench.recovery import main

if __name__ == "__main__":
    raise SystemExit(main())
