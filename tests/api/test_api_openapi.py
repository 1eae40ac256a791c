"""Every route (but the incident and cycle ones, covered with their routers) declares the model it answers
with: the OpenAPI document names a schema for its 200/201 answer, never a free-form object."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from selfheal.api.app import create_app
from selfheal.settings import Settings

OTHER_OWNER = ("/run_cycle", "/incidents")
"""Paths whose answers are declared with the cycle and incident routers."""


def _operations(tmp_path: Path) -> tuple[dict[str, Any], list[tuple[str, str, dict[str, Any]]]]:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'openapi.db'}")
    document = create_app(settings).openapi()
    operations = [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        if not path.startswith(OTHER_OWNER)
        for method, operation in item.items()
    ]
    return document, operations


def _component(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any] | None:
    """The named model a response schema points at (directly or as the items of an array)."""
    if schema.get("type") == "array":
        schema = schema.get("items", {})
    ref = schema.get("$ref", "")
    if not ref.startswith("#/components/schemas/"):
        return None
    found: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return found


def _bare_schemas(node: Any, where: str) -> list[str]:
    """Places inside a schema that accept anything (`{}`)."""
    if isinstance(node, dict):
        if where.endswith(".properties") or where.endswith("$defs"):
            return [f for key, value in node.items() for f in _bare_schemas(value, f"{where}.{key}")]
        if node == {} and not where.endswith((".default", ".examples")):
            return [where]
        return [f for key, value in node.items() for f in _bare_schemas(value, f"{where}.{key}")]
    if isinstance(node, list):
        return [f for i, value in enumerate(node) for f in _bare_schemas(value, f"{where}[{i}]")]
    return []


def test_every_operation_answers_a_named_model(tmp_path: Path) -> None:
    document, operations = _operations(tmp_path)
    assert len(operations) >= 25  # the routers above are all mounted
    missing = []
    for method, path, operation in operations:
        answers = {code: r for code, r in operation["responses"].items() if code in ("200", "201")}
        schemas = [r.get("content", {}).get("application/json", {}).get("schema") for r in answers.values()]
        models = [_component(document, s) for s in schemas if s]
        if not models or any(m is None or not m.get("properties") for m in models):
            missing.append(f"{method} {path}: {schemas}")
    assert missing == []


def test_no_declared_answer_accepts_anything(tmp_path: Path) -> None:
    document, operations = _operations(tmp_path)
    names = {
        ref.rsplit("/", 1)[1]
        for _, _, operation in operations
        for code, answer in operation["responses"].items()
        if code in ("200", "201")
        for ref in _refs(answer)
    }
    schemas = document["components"]["schemas"]
    bare = [f for name in sorted(_closure(schemas, names)) for f in _bare_schemas(schemas[name], name)]
    assert bare == []


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def _closure(schemas: dict[str, Any], names: set[str]) -> set[str]:
    """`names` and every component they reference, transitively."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += [ref.rsplit("/", 1)[1] for ref in _refs(schemas[name])]
    return seen


@pytest.mark.parametrize("path", ["/health", "/runbooks/stats", "/runbooks/documents", "/runbooks/clear"])
def test_the_formerly_untyped_answers_are_models_now(tmp_path: Path, path: str) -> None:
    document, operations = _operations(tmp_path)
    (operation,) = [op for _, p, op in operations if p == path]
    answer = next(r for code, r in operation["responses"].items() if code in ("200", "201"))
    model = _component(document, answer["content"]["application/json"]["schema"])
    assert model is not None and model["properties"]


def test_old_names_are_documented_as_deprecated_aliases(tmp_path: Path) -> None:
    _, operations = _operations(tmp_path)
    by_path = {(method, path): op for method, path, op in operations}
    for method, old, new in (
        ("GET", "/clusters", "/themes"),
        ("GET", "/rag/stats", "/runbooks/stats"),
        ("POST", "/rag/upload", "/runbooks/upload"),
    ):
        assert by_path[(method, old)].get("deprecated") is True
        assert not by_path[(method, new)].get("deprecated")
        assert by_path[(method, new)]["tags"] == by_path[(method, old)]["tags"]
