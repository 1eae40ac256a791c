"""Structure-aware chunking: blocks of one section (and one page) are packed up to a size bound.

A chunk never spans two sections or two PDF pages, so its heading path and page are exact; a block longer
than the bound is cut at sentence, line or word boundaries. Offsets stay exact: `doc.text[start:end]`
is the chunk's text.
"""

from __future__ import annotations

import re

from selfheal.knowledge.model import Block, Chunk, LoadedDocument

DEFAULT_MAX_CHARS = 1200
_BREAKS = (re.compile(r"\n\s*"), re.compile(r"(?<=[.!?;:])\s+"), re.compile(r"\s+"))


def chunk_document(doc: LoadedDocument, max_chars: int = DEFAULT_MAX_CHARS) -> list[Chunk]:
    """Chunks of `doc` in reading order."""
    pieces: list[Block] = []
    for block in doc.blocks:
        pieces.extend(_split_long(doc.text, block, max_chars))
    chunks: list[Chunk] = []
    group: list[Block] = []

    def emit() -> None:
        if group:
            start, end = group[0].start, group[-1].end
            chunks.append(
                Chunk(len(chunks), doc.text[start:end], group[0].heading_path, start, end, group[0].page)
            )
            group.clear()

    for piece in pieces:
        if group and (
            piece.heading_path != group[0].heading_path
            or piece.page != group[0].page
            or piece.end - group[0].start > max_chars
        ):
            emit()
        group.append(piece)
    emit()
    return chunks


def _split_long(text: str, block: Block, max_chars: int) -> list[Block]:
    """`block` cut into pieces of at most `max_chars`, preferring line, then sentence, then word breaks."""
    if block.end - block.start <= max_chars:
        return [block]
    out: list[Block] = []
    start = block.start
    while block.end - start > max_chars:
        window = text[start : start + max_chars]
        cut = 0
        for pattern in _BREAKS:
            found = [m for m in pattern.finditer(window) if m.start() >= max_chars // 3]
            if found:
                cut = found[-1].start()
                next_start = start + found[-1].end()
                break
        if cut == 0:
            cut, next_start = max_chars, start + max_chars
        out.append(Block(text[start : start + cut], start, start + cut, block.heading_path, block.page))
        start = next_start
    if start < block.end:
        out.append(Block(text[start : block.end], start, block.end, block.heading_path, block.page))
    return out
