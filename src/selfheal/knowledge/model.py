"""The knowledge base's plain data: a loaded document, its chunks and a search hit."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class DocumentKind(StrEnum):
    markdown = "markdown"
    text = "text"
    pdf = "pdf"
    html = "html"


@dataclass(frozen=True)
class Block:
    """A run of text from a loaded document with the structure it sits in.

    `heading_path` holds the enclosing headings, outermost first; `page` is 1-based for PDF pages;
    `start`/`end` are character offsets into the document's extracted text (`LoadedDocument.text`).
    A block is a paragraph-like unit: the chunker never splits inside one unless it alone is too long.
    """

    text: str
    start: int
    end: int
    heading_path: tuple[str, ...] = ()
    page: int | None = None


@dataclass(frozen=True)
class LoadedDocument:
    """A file turned into text and structure; nothing about it is stored yet."""

    name: str
    kind: DocumentKind
    title: str
    text: str
    blocks: tuple[Block, ...]
    size_bytes: int
    sha256: str
    pages: int | None = None


def section_of(heading_path: tuple[str, ...]) -> str:
    """The citation form of a heading path: `Runbook > Section > Subsection`."""
    return " > ".join(heading_path)


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage. `heading_path` gives the section for a citation; offsets point into the
    document's extracted text."""

    ordinal: int
    text: str
    heading_path: tuple[str, ...]
    start: int
    end: int
    page: int | None = None

    @property
    def section(self) -> str:
        return section_of(self.heading_path)


@dataclass(frozen=True)
class IndexedChunk:
    """A chunk as the in-memory index holds it: with its ids and document title."""

    chunk_id: str
    document_id: str
    document: str
    title: str
    ordinal: int
    text: str
    heading_path: tuple[str, ...]
    start: int
    end: int
    page: int | None = None

    @property
    def section(self) -> str:
        return section_of(self.heading_path)


@dataclass(frozen=True)
class SearchHit:
    """A ranked chunk. `score` is the fused score (higher is better); the parts explain it."""

    chunk: IndexedChunk
    score: float
    rank: int
    parts: dict[str, float] = field(default_factory=dict)
