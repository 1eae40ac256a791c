from __future__ import annotations

import ast
from pathlib import Path

import selfheal.reason.cluster as cluster_package

FORBIDDEN = ("fastapi", "sqlalchemy", "streamlit", "httpx", "selfheal.store", "selfheal.embedding")


def test_the_theme_engine_does_no_io() -> None:
    for path in Path(cluster_package.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(FORBIDDEN), f"{path.name} imports {name}"
