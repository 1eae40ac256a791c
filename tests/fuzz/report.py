"""Tally of the fuzz suite: cases tried, 5xx found and batches that lost data, per database. Written as JSON
lines to $SELFHEAL_FUZZ_REPORT when set (docs/reliability.md quotes it)."""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Tally:
    suite: str
    database: str
    cases: int = 0
    server_errors: int = 0
    lost: int = 0
    statuses: Counter[int] = field(default_factory=Counter)

    def add(self, status: int, lost: bool = False) -> None:
        self.cases += 1
        self.statuses[status] += 1
        self.server_errors += status >= 500
        self.lost += lost

    def write(self) -> None:
        path = os.environ.get("SELFHEAL_FUZZ_REPORT")
        if not path:
            return
        line = {
            "suite": self.suite,
            "database": self.database,
            "cases": self.cases,
            "server_errors": self.server_errors,
            "data_lost": self.lost,
            "statuses": dict(sorted(self.statuses.items())),
        }
        with open(path, "a") as out:
            out.write(json.dumps(line) + "\n")
