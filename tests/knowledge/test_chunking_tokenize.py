from __future__ import annotations

from tests.knowledge.pdfgen import make_pdf

from selfheal.knowledge.chunking import chunk_document
from selfheal.knowledge.loaders import load_document
from selfheal.knowledge.tokenize import tokenize


def _md(sections: int, paragraphs: int, words: int) -> bytes:
    out = ["# Runbook"]
    for s in range(sections):
        out.append(f"## Section {s}")
        for p in range(paragraphs):
            out.append(" ".join(f"word{s}_{p}_{w}" for w in range(words)) + ".")
    return "\n\n".join(out).encode()


def test_chunks_keep_heading_path_and_exact_offsets() -> None:
    doc = load_document("r.md", _md(3, 4, 30), 10**6)
    chunks = chunk_document(doc, max_chars=600)
    assert {c.heading_path for c in chunks} == {("Runbook", f"Section {s}") for s in range(3)}
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
        assert len(c.text) <= 600
    # a chunk never mixes two sections
    for c in chunks:
        section = c.heading_path[-1].split()[-1]
        assert all(token.startswith(f"word{section}_") for token in c.text.replace(".", "").split())
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_small_paragraphs_are_packed_together() -> None:
    doc = load_document("r.md", _md(1, 6, 5), 10**6)
    chunks = chunk_document(doc, max_chars=1200)
    assert len(chunks) == 1
    assert chunks[0].text.count("word0_") == 30


def test_long_paragraph_split_at_boundaries() -> None:
    sentence = "The webhook signing secret was rotated on one side only. "
    doc = load_document("r.txt", (sentence * 60).encode(), 10**6)
    chunks = chunk_document(doc, max_chars=500)
    assert len(chunks) > 5
    for c in chunks:
        assert len(c.text) <= 500
        assert doc.text[c.start : c.end] == c.text
        assert c.text.endswith(".") or c.text.endswith("only")
    covered = "".join(c.text for c in chunks).replace(" ", "")
    assert covered == doc.text.replace(" ", "").strip()


def test_pdf_chunks_do_not_span_pages() -> None:
    doc = load_document("p.pdf", make_pdf([["alpha one", "alpha two"], ["beta one"], ["gamma"]]), 10**6)
    chunks = chunk_document(doc, max_chars=2000)
    assert [c.page for c in chunks] == [1, 2, 3]
    assert "beta one" in chunks[1].text


def test_identifier_aware_tokens() -> None:
    tokens = tokenize("KubeAPIDown fired; signing_secret rotated for POST /webhooks/order-created")
    for expected in (
        "kubeapidown",
        "kube",
        "api",
        "down",
        "kubeapi",
        "signingsecret",
        "sign",
        "secret",
        "webhook",
        "ordercreated",
        "order",
    ):
        assert expected in tokens
    assert "for" not in tokens
    assert tokenize("restarted restarts") == ["restart", "restart"]
    assert "403" in tokenize("HTTP 403 Forbidden")


def test_snowball_stems_meet_across_word_forms() -> None:
    from selfheal.knowledge.tokenize import tokenize

    assert tokenize("declined") == tokenize("decline") == tokenize("declines")
    assert tokenize("charged") == tokenize("charge") == tokenize("charges")
    assert tokenize("restarted restarts") == tokenize("restart restart")
    assert "signingsecret" in tokenize("signing_secret") and "k8s" in tokenize("k8s")
