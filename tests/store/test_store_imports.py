"""The store is the inner ring: its records are its own or the contract's, never a stage's."""

from __future__ import annotations

import ast
from pathlib import Path

import selfheal.store

STAGES = ("selfheal.observe", "selfheal.reason", "selfheal.decide", "selfheal.act", "selfheal.knowledge")


def test_the_store_imports_no_stage() -> None:
    root = Path(selfheal.store.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [f"{path.relative_to(root)} imports {n}" for n in names if n.startswith(STAGES)]
    assert offenders == []
