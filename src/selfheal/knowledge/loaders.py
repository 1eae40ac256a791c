"""Turn uploaded bytes into a `LoadedDocument`: the type is sniffed from the content, never the extension.

Markdown, plain text, PDF (pypdf) and HTML are read. A file is refused with a clear error, before anything is
stored, when it is empty, over the size limit, not text/PDF/HTML, a broken or encrypted PDF, or yields no text.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePath
from typing import Any

from selfheal.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from selfheal.knowledge.budget import CancelCheck, run_with_budget
from selfheal.knowledge.model import Block, DocumentKind, LoadedDocument

_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"PK\x03\x04", "ZIP archive (e.g. DOCX)"),
    (b"\x1f\x8b", "gzip archive"),
    (b"\xd0\xcf\x11\xe0", "legacy Office document"),
    (b"\x7fELF", "executable"),
)
_HTML_START = re.compile(
    rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)[\s>]", re.IGNORECASE | re.DOTALL
)
_MD_SIGNS = re.compile(r"^(#{1,6}[ \t]+\S|```|~~~|---\s*$|[-*+][ \t]+\S|\d+\.[ \t]+\S|>[ \t])", re.MULTILINE)
_FRONT_TITLE = re.compile(r"^title:\s*[\"']?(.*?)[\"']?\s*$", re.MULTILINE)


def sniff_kind(data: bytes) -> DocumentKind:
    """The document type from the first bytes; raises UnsupportedMediaType for anything else."""
    head = data[:1024]
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"%PDF-"):  # a PDF starts so; text may mention it
        return DocumentKind.pdf
    for magic, what in _BINARY_MAGIC:
        if head.startswith(magic):
            raise UnsupportedMediaType(f"file looks like a {what}; expected Markdown, text, PDF or HTML")
    if b"\x00" in data:  # anywhere: PostgreSQL text cannot hold NUL, and text files have none
        raise UnsupportedMediaType("file is binary (NUL bytes); expected Markdown, text, PDF or HTML")
    if _HTML_START.match(head):
        return DocumentKind.html
    text = _decode(data)
    return DocumentKind.markdown if len(_MD_SIGNS.findall(text[:20000])) >= 1 else DocumentKind.text


@dataclass(frozen=True)
class PdfBudget:
    """CPU seconds reading one PDF's text may take: per page and for the whole document (settings
    `kb_pdf_page_budget_seconds`, `kb_pdf_budget_seconds`). Past either the read stops: 422 `too_costly`."""

    total_seconds: float = 20.0
    page_seconds: float = 5.0


def load_document(
    name: str,
    data: bytes,
    max_bytes: int,
    pdf_budget: PdfBudget | None = None,
    cancelled: CancelCheck | None = None,
) -> LoadedDocument:
    """Read one file. Errors carry the file name in `details.file`. `cancelled`: see `budget.CancelCheck`."""
    details = {"file": name}
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"{name}: {len(data)} bytes exceeds the per-file limit of {max_bytes}",
            {**details, "limit": max_bytes, "size": len(data)},
        )
    if not data.strip():
        raise InvalidInput(f"{name}: file is empty", {**details, "reason": "empty"})
    try:
        kind = sniff_kind(data)
        if kind is DocumentKind.pdf:
            doc = _load_pdf(name, data, pdf_budget or PdfBudget(), cancelled)
        elif kind is DocumentKind.html:
            doc = _load_html(name, _decode(data), data)
        elif kind is DocumentKind.markdown:
            doc = _load_markdown(name, _decode(data), data)
        else:
            doc = _load_text(name, _decode(data), data)
    except (InvalidInput, UnsupportedMediaType) as exc:
        raise type(exc)(
            exc.message if exc.message.startswith(name) else f"{name}: {exc.message}",
            {**details, **(exc.details or {})},
        ) from exc
    if not any(b.text.strip() for b in doc.blocks):
        raise InvalidInput(f"{name}: no text could be extracted", {**details, "reason": "no_text"})
    return doc


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnsupportedMediaType(
            f"file is not UTF-8 text (byte {exc.start}); expected Markdown, text, PDF or HTML",
            {"reason": "encoding"},
        ) from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _meta(data: bytes) -> tuple[int, str]:
    return len(data), hashlib.sha256(data).hexdigest()


def _stem(name: str) -> str:
    return PurePath(name).stem or name


# --- Markdown / text ------------------------------------------------------------------------------


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """(offset, line without newline) for each line."""
    pos = 0
    for line in text.split("\n"):
        yield pos, line
        pos += len(line) + 1


def _front_matter_end(text: str) -> tuple[int, str | None]:
    """Offset just past a leading YAML front matter block, and its `title:` if any."""
    if not text.startswith("---\n"):
        return 0, None
    close = text.find("\n---", 3)
    if close < 0:
        return 0, None
    end_line = text.find("\n", close + 4)
    end = len(text) if end_line < 0 else end_line + 1
    match = _FRONT_TITLE.search(text[4:close])
    return end, (match.group(1).strip() or None) if match else None


@dataclass(frozen=True)
class _MarkdownLayout:
    """What markdown-it-py says about the lines of a Markdown body (numbers relative to the body): where
    headings are (ATX `# Title` and setext `Title` over `===`/`---`) and which lines are fenced or indented
    code."""

    headings: dict[int, tuple[int, int, str]]  # first line -> (level, end line exclusive, title)
    code: dict[int, int]  # first line -> end line exclusive


def _markdown_layout(body: str) -> _MarkdownLayout:
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(body)
    headings: dict[int, tuple[int, int, str]] = {}
    code: dict[int, int] = {}
    for i, token in enumerate(tokens):
        if token.map is None:
            continue
        if token.type == "heading_open" and token.level == 0:
            title = tokens[i + 1].content.strip() if i + 1 < len(tokens) else ""
            headings[token.map[0]] = (int(token.tag[1]), token.map[1], " ".join(title.split()))
        elif token.type in ("fence", "code_block"):
            code[token.map[0]] = token.map[1]
    return _MarkdownLayout(headings, code)


class _MarkdownScan:
    """One pass over Markdown lines, structure from markdown-it-py: paragraphs (runs of non-blank lines)
    become blocks under the current heading path; a fenced or indented code block stays whole."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.blocks: list[Block] = []
        self.headings: list[tuple[int, str]] = []
        self.first_h1: str | None = None
        self.para_start: int | None = None
        self.para_end = 0

    def flush(self) -> None:
        start, end = self.para_start, self.para_end
        if start is not None and self.text[start:end].strip():
            self.blocks.append(Block(self.text[start:end], start, end, tuple(h for _, h in self.headings)))
        self.para_start = None

    def extend(self, offset: int, line: str) -> None:
        if self.para_start is None:
            self.para_start = offset
        self.para_end = offset + len(line)

    def code(self, lines: list[tuple[int, str]]) -> None:
        self.flush()
        for offset, line in lines:
            self.extend(offset, line)
        self.flush()

    def heading(self, level: int, title: str) -> None:
        self.flush()
        if not title:
            return
        self.headings = [(lv, h) for lv, h in self.headings if lv < level] + [(level, title)]
        if level == 1 and self.first_h1 is None:
            self.first_h1 = title

    def line(self, offset: int, line: str) -> None:
        if not line.strip():
            self.flush()
        else:
            self.extend(offset, line)


def markdown_blocks(text: str, start_at: int = 0) -> tuple[list[Block], str | None]:
    """Paragraph blocks with their heading path; fenced code stays whole. Returns (blocks, first H1).

    Offsets are into `text`; only `text[start_at:]` is parsed (front matter before it is not Markdown)."""
    lines = [(offset, line) for offset, line in _lines(text) if offset >= start_at]
    layout = _markdown_layout("\n".join(line for _, line in lines))
    scan = _MarkdownScan(text)
    i = 0
    while i < len(lines):
        if i in layout.headings:
            level, end, title = layout.headings[i]
            scan.heading(level, title)
            i = max(end, i + 1)
        elif i in layout.code:
            end = max(layout.code[i], i + 1)
            scan.code(lines[i:end])
            i = end
        else:
            scan.line(*lines[i])
            i += 1
    scan.flush()
    return scan.blocks, scan.first_h1


def _load_markdown(name: str, text: str, data: bytes) -> LoadedDocument:
    body_start, fm_title = _front_matter_end(text)
    blocks, h1 = markdown_blocks(text, body_start)
    size, digest = _meta(data)
    title = h1 or fm_title or _stem(name)
    return LoadedDocument(name, DocumentKind.markdown, title, text, tuple(blocks), size, digest)


def paragraph_blocks(text: str, base: int = 0, page: int | None = None) -> list[Block]:
    """Blocks separated by blank lines; `base` shifts offsets when `text` is a slice of a larger text."""
    blocks: list[Block] = []
    for match in re.finditer(r"\S(?:.*\S)?(?:\n[ \t]*\S.*)*", text):
        raw = match.group().rstrip()
        start = base + match.start()
        blocks.append(Block(raw, start, start + len(raw), (), page))
    return blocks


def _load_text(name: str, text: str, data: bytes) -> LoadedDocument:
    size, digest = _meta(data)
    first_line = next((line.strip() for line in text.split("\n") if line.strip()), "")
    title = first_line if 0 < len(first_line) <= 120 else _stem(name)
    return LoadedDocument(name, DocumentKind.text, title, text, tuple(paragraph_blocks(text)), size, digest)


# --- PDF -----------------------------------------------------------------------------------------


PDF_OPEN_SECONDS = 5
"""CPU seconds for opening a PDF (parsing its structure) on top of the text budget, in the child's limit."""


class _PageOverBudget(BaseException):
    """Raised (by the profiling timer's signal) inside the reading child when a page takes too long. A
    BaseException, so the PDF library's own `except Exception` clauses cannot turn it into a parse error."""


_OVER_BUDGET = {"fired": False}
"""Set by the timer's signal: a page that went over stays over even if the PDF library swallowed the raise."""

_REFIRE_SECONDS = 0.05
"""Once over budget the timer fires again at this interval until the page's read ends."""


def _over_budget(signum: int, frame: object) -> None:
    _OVER_BUDGET["fired"] = True
    raise _PageOverBudget


def _page_texts(pages: Any, budget: PdfBudget) -> list[str]:
    """Each page's text, each under a CPU timer (ITIMER_PROF): a page may take `page_seconds`, all of them
    together `total_seconds`. Runs in the reading child only (it installs a signal handler)."""
    previous = signal.signal(signal.SIGPROF, _over_budget)
    # The child inherits the forking thread's signal mask, which may block SIGPROF: unblock it here.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGPROF})
    used = 0.0
    texts: list[str] = []
    try:
        for number, page in enumerate(pages, start=1):
            allowed = min(budget.page_seconds, budget.total_seconds - used)
            if allowed <= 0:
                raise _too_costly(number, budget, "the whole document")
            started = time.process_time()
            _OVER_BUDGET["fired"] = False
            signal.setitimer(signal.ITIMER_PROF, allowed, _REFIRE_SECONDS)
            try:
                texts.append(page.extract_text() or "")
            except _PageOverBudget:
                pass  # handled below, with a raise the library swallowed
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
            if _OVER_BUDGET["fired"]:
                per_page = allowed >= budget.page_seconds
                raise _too_costly(number, budget, "one page" if per_page else "the whole document")
            used += time.process_time() - started
    finally:
        signal.signal(signal.SIGPROF, previous)
    return texts


def _too_costly(page: int, budget: PdfBudget, what: str) -> InvalidInput:
    limit = budget.page_seconds if what == "one page" else budget.total_seconds
    return InvalidInput(
        f"reading the text of page {page} took past the budget of {limit:g} CPU seconds for {what}; "
        "nothing was stored",
        {
            "reason": "too_costly",
            "page": page,
            "budget_seconds": limit,
            "budget": "page" if what == "one page" else "document",
        },
    )


def _read_pdf(data: bytes, budget: PdfBudget = PdfBudget()) -> tuple[list[str], str | None]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise InvalidInput("PDF is encrypted; upload an unencrypted copy", {"reason": "encrypted"})
        page_texts = _page_texts(reader.pages, budget)
        meta_title = (reader.metadata.title if reader.metadata else None) or None
    except InvalidInput:
        raise
    except DependencyError as exc:  # AES encryption pypdf cannot even open without a crypto library
        raise InvalidInput("PDF is encrypted; upload an unencrypted copy", {"reason": "encrypted"}) from exc
    except (
        PyPdfError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        OSError,
        RecursionError,
        AssertionError,
        ZeroDivisionError,
    ) as exc:
        raise InvalidInput(
            f"PDF could not be read ({type(exc).__name__}: {exc})", {"reason": "broken_pdf"}
        ) from exc
    return page_texts, meta_title


def _load_pdf(name: str, data: bytes, budget: PdfBudget, cancelled: CancelCheck | None) -> LoadedDocument:
    # In a child process: the timers stop a costly page; the child's RLIMIT_CPU (the whole budget plus
    # PDF_OPEN_SECONDS for opening the file) and the wall deadline stop anything the timers cannot interrupt.
    page_texts, meta_title = run_with_budget(
        functools.partial(_read_pdf, budget=budget),
        data,
        budget.total_seconds + PDF_OPEN_SECONDS,
        "PDF",
        cancelled,
    )
    if not page_texts:
        raise InvalidInput("PDF has no pages", {"reason": "broken_pdf"})
    parts: list[str] = []
    blocks: list[Block] = []
    pos = 0
    for number, raw in enumerate(page_texts, start=1):
        page_text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
        page_blocks = paragraph_blocks(page_text, pos, number)
        if len(page_blocks) == 1 and len(page_blocks[0].text) > 1500:
            page_blocks = _line_blocks(page_text, pos, number)
        blocks.extend(page_blocks)
        parts.append(page_text)
        pos += len(page_text) + 2
    text = "\n\n".join(parts)
    size, digest = _meta(data)
    first_line = next((b.text.split("\n")[0].strip() for b in blocks if b.text.strip()), "")
    title = (str(meta_title).replace("\x00", "").strip() if meta_title else "") or (
        first_line if len(first_line) <= 120 else ""
    )
    return LoadedDocument(
        name, DocumentKind.pdf, title or _stem(name), text, tuple(blocks), size, digest, pages=len(page_texts)
    )


def _line_blocks(text: str, base: int, page: int) -> list[Block]:
    """One block per non-empty line (PDF text often has no blank lines between paragraphs)."""
    out: list[Block] = []
    for offset, line in _lines(text):
        stripped = line.rstrip()
        if stripped.strip():
            out.append(Block(stripped, base + offset, base + offset + len(stripped), (), page))
    return out


# --- HTML ----------------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "li",
        "ul",
        "ol",
        "pre",
        "table",
        "tr",
        "td",
        "th",
        "section",
        "article",
        "blockquote",
        "br",
        "dd",
        "dt",
        "header",
        "footer",
        "main",
    ]
)
_SKIP_TAGS = frozenset(["script", "style", "noscript", "template", "svg", "head", "nav", "aside"])
_PAGE_CHROME = frozenset(["header", "footer"])
"""Site banner and footers: dropped; a `<header>` inside an `<article>`/`<main>` is kept (it holds the
article's own title)."""
_CONTENT_TAGS = frozenset(["article", "main"])


class _HtmlText(HTMLParser):
    """Collects (heading level or 0, text) segments from HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.segments: list[tuple[int, str]] = []
        self._buf: list[str] = []
        self._level = 0
        self._skip = 0
        self.title: str | None = None
        self._in_title = False
        self._content = 0  # depth of <article>/<main>
        self._chrome: list[bool] = []  # open <header>/<footer>: whether each one is skipped

    def _flush(self) -> None:
        text = re.sub(r"[ \t\r\f\v]+", " ", "".join(self._buf)).strip()
        text = re.sub(r"\n\s*", "\n", text)
        if text:
            self.segments.append((self._level, text))
        self._buf = []

    def _open_chrome(self, tag: str) -> bool:
        """Track <article>/<main> and <header>/<footer>; True when `tag` opens page chrome to skip."""
        if tag in _CONTENT_TAGS:
            self._content += 1
        if tag not in _PAGE_CHROME:
            return False
        skipped = tag == "footer" or self._content == 0
        self._chrome.append(skipped)
        return skipped

    def _close_chrome(self, tag: str) -> bool:
        if tag in _CONTENT_TAGS:
            self._content = max(0, self._content - 1)
        if tag not in _PAGE_CHROME or not self._chrome:
            return False
        return self._chrome.pop()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        if self._open_chrome(tag) or tag in _SKIP_TAGS:
            self._skip += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._level = int(tag[1])
        elif tag in _BLOCK_TAGS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if self._close_chrome(tag) or tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._level = 0
        elif tag in _BLOCK_TAGS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._in_title and self.title is None and data.strip():
            self.title = data.strip()
        if not self._skip:
            self._buf.append(data)


def _load_html(name: str, html: str, data: bytes) -> LoadedDocument:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    parser._flush()
    parts: list[str] = []
    blocks: list[Block] = []
    headings: list[tuple[int, str]] = []
    first_h1: str | None = None
    pos = 0
    for level, segment in parser.segments:
        if level:
            headings = [(lv, h) for lv, h in headings if lv < level] + [(level, segment)]
            first_h1 = first_h1 or (segment if level == 1 else None)
        else:
            blocks.append(Block(segment, pos, pos + len(segment), tuple(h for _, h in headings)))
        parts.append(segment)
        pos += len(segment) + 2
    size, digest = _meta(data)
    title = first_h1 or parser.title or _stem(name)
    return LoadedDocument(name, DocumentKind.html, title, "\n\n".join(parts), tuple(blocks), size, digest)
