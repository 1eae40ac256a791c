"""The runbooks shipped with selfheal for the migration's own failure modes (src/selfheal/runbooks/*.md)."""

from __future__ import annotations

from importlib import resources

from selfheal.knowledge.base import KnowledgeBase, UploadResult


def starter_runbooks() -> list[tuple[str, bytes]]:
    """(file name, content) of every shipped runbook, by name."""
    folder = resources.files("selfheal") / "runbooks"
    items = [(entry.name, entry.read_bytes()) for entry in folder.iterdir() if entry.name.endswith(".md")]
    return sorted(items)


def load_starter_runbooks(kb: KnowledgeBase, actor: str = "system") -> UploadResult:
    """Add (or refresh) the shipped runbooks in `kb`; other documents are left alone."""
    return kb.add_files(list(starter_runbooks()), actor=actor)
