"""The layering the architecture promises, checked on the source: reason and decide are pure, dependencies
point inward, and the package root holds only the contract and the loop."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import selfheal

PACKAGE = Path(selfheal.__file__).parent
IO_MODULES = ("fastapi", "sqlalchemy", "streamlit", "httpx", "uvicorn", "psycopg", "requests")
PURE_FORBIDDEN = (
    *IO_MODULES,
    "selfheal.store",
    "selfheal.embedding",
    "selfheal.knowledge",
    "selfheal.act",
    "selfheal.api",
    "selfheal.cli",
    "selfheal.client",
    "selfheal.ui",
    "selfheal.cycle",
    "selfheal.narrate",
)
ROOT_MODULES = {
    "__init__",
    "settings",
    "errors",
    "signals",
    "records",
    "cycle",
    "audit",
    "auth",
    "keys",
    "embedding",
}


def imported_modules(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _files(package: str) -> list[Path]:
    return sorted((PACKAGE / package).rglob("*.py"))


@pytest.mark.parametrize("package", ["reason", "decide"])
def test_pure_stages_import_no_io_and_no_outer_layer(package: str) -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in _files(package)
        for name in imported_modules(path)
        if name.startswith(PURE_FORBIDDEN)
    ]
    assert offenders == []


def test_reason_does_not_depend_on_decide_and_knowledge_only_implements_reason() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in _files("reason")
        for name in imported_modules(path)
        if name.startswith("selfheal.decide")
    ]
    assert offenders == []


def test_the_package_root_holds_the_contract_and_the_loop() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assert modules == ROOT_MODULES


def test_act_only_stores_what_decide_decided() -> None:
    """act may read decide's models (the plan) but calls none of decide's rules."""
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in _files("act")
        for name in imported_modules(path)
        if name.startswith("selfheal.decide") and not name.endswith((".model", ".plan_model"))
    ]
    assert offenders == []


def test_nothing_inside_the_core_imports_the_shell() -> None:
    shell = ("selfheal.cli", "selfheal.ui", "selfheal.api", "selfheal.bench", "selfheal.client")
    core = [
        "observe",
        "reason",
        "decide",
        "act",
        "knowledge",
        "narrate",
        "store",
        "simulate",
        "ingest",
        "connect",
    ]
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for package in core
        for path in _files(package)
        for name in imported_modules(path)
        if name.startswith(shell)
    ]
    assert offenders == []
