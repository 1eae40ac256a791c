from __future__ import annotations

import pytest
from tests.knowledge.pdfgen import encrypt_pdf, make_pdf

from selfheal.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from selfheal.knowledge.loaders import load_document, sniff_kind
from selfheal.knowledge.model import DocumentKind

MD = b"""---
title: Webhook 403
weight: 20
---

# WebhookForbidden

## Meaning

Deliveries to `POST /webhooks/order-created` are rejected with 403.

## Mitigation

Restore the signing secret.

```shell
$ replay --since 1h

$ reconcile
```
"""


def test_markdown_sniffed_from_content_not_extension() -> None:
    doc = load_document("runbook.pdf", MD, 10_000)
    assert doc.kind is DocumentKind.markdown
    assert doc.title == "WebhookForbidden"
    paths = [b.heading_path for b in doc.blocks]
    assert paths[0] == ("WebhookForbidden", "Meaning")
    assert ("WebhookForbidden", "Mitigation") in paths
    # front matter is not content; the fenced block (with its blank line) stays one block
    assert all("weight: 20" not in b.text for b in doc.blocks)
    fence = [b for b in doc.blocks if b.text.startswith("```")]
    assert len(fence) == 1
    assert "reconcile" in fence[0].text
    for block in doc.blocks:
        assert doc.text[block.start : block.end] == block.text


def test_front_matter_title_used_without_h1() -> None:
    doc = load_document("a.md", b"---\ntitle: Cart sync\n---\n\n## Steps\n\nResync carts.\n", 10_000)
    assert doc.title == "Cart sync"


def test_plain_text() -> None:
    doc = load_document("notes", b"Checkout latency\n\nScale the pool.\nAdd timeouts.\n\nRoll back.", 10_000)
    assert doc.kind is DocumentKind.text
    assert doc.title == "Checkout latency"
    assert [b.text for b in doc.blocks] == [
        "Checkout latency",
        "Scale the pool.\nAdd timeouts.",
        "Roll back.",
    ]


def test_html_headings_and_text() -> None:
    html = b"""<!DOCTYPE html><html><head><title>T</title><style>p{}</style></head><body>
    <h1>API auth</h1><p>Keys are <b>rotated</b> monthly.</p><h2>Mitigation</h2><ul><li>Re-issue the key</li></ul>
    <script>var x = 1;</script></body></html>"""
    doc = load_document("page.txt", html, 10_000)
    assert doc.kind is DocumentKind.html
    assert doc.title == "API auth"
    assert [(b.text, b.heading_path) for b in doc.blocks] == [
        ("Keys are rotated monthly.", ("API auth",)),
        ("Re-issue the key", ("API auth", "Mitigation")),
    ]
    assert all("var x" not in b.text for b in doc.blocks)


def test_pdf_pages_and_offsets() -> None:
    data = make_pdf(
        [["Payment provider errors", "Authorisation fails with 503."], ["Fail over to the backup PSP."]]
    )
    doc = load_document("payments.md", data, 100_000)
    assert doc.kind is DocumentKind.pdf
    assert doc.pages == 2
    assert doc.title == "Payment provider errors"
    pages = {b.page for b in doc.blocks}
    assert pages == {1, 2}
    second = next(b for b in doc.blocks if b.page == 2)
    assert "backup PSP" in second.text
    assert doc.text[second.start : second.end] == second.text


def test_encrypted_pdf_refused() -> None:
    data = encrypt_pdf(make_pdf([["secret runbook"]]))
    with pytest.raises(InvalidInput) as err:
        load_document("locked.pdf", data, 100_000)
    assert err.value.details["reason"] == "encrypted"
    assert err.value.details["file"] == "locked.pdf"


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R",  # truncated
        b"%PDF-1.7\n" + bytes(range(256)) * 4,  # garbage after the header
    ],
)
def test_broken_pdf_refused(data: bytes) -> None:
    with pytest.raises(InvalidInput) as err:
        load_document("broken.pdf", data, 100_000)
    assert err.value.status_code == 422
    assert "broken.pdf" in err.value.message


def test_truncated_real_pdf_refused() -> None:
    data = make_pdf([["Some text here"]])
    with pytest.raises(InvalidInput):
        load_document("cut.pdf", data[: len(data) // 3], 100_000)


def test_pdf_without_text_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        load_document("blank.pdf", make_pdf([[]]), 100_000)
    assert err.value.details["reason"] == "no_text"


@pytest.mark.parametrize("data", [b"", b"   \n\n  "])
def test_empty_refused(data: bytes) -> None:
    with pytest.raises(InvalidInput) as err:
        load_document("empty.md", data, 100)
    assert err.value.details["reason"] == "empty"


def test_oversized_refused() -> None:
    with pytest.raises(PayloadTooLarge) as err:
        load_document("big.md", b"# x\n" + b"a" * 200, 100)
    assert err.value.status_code == 413
    assert err.value.details["limit"] == 100


@pytest.mark.parametrize(
    "data",
    [b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, b"PK\x03\x04rest", b"abc\x00def", "café".encode("latin-1")],
)
def test_unsupported_content_refused(data: bytes) -> None:
    with pytest.raises(UnsupportedMediaType) as err:
        load_document("runbook.md", data, 100_000)
    assert err.value.status_code == 415


def test_sniff_kinds() -> None:
    assert sniff_kind(b"  <html><body>x</body></html>") is DocumentKind.html
    assert sniff_kind(b"# Title\n\ntext") is DocumentKind.markdown
    assert sniff_kind(b"just words") is DocumentKind.text
    assert sniff_kind(make_pdf([["x"]])) is DocumentKind.pdf


def test_setext_headings_keep_heading_path_and_title() -> None:
    text = (
        "---\ntitle: From front matter\n---\n"
        "Webhook outage\n==============\n\nIntro paragraph.\n\n"
        "Signing secret\n--------------\n\nRotate the secret.\nThen redeliver.\n"
    )
    doc = load_document("w.md", text.encode(), 10**6)
    assert doc.title == "Webhook outage"
    paths = [b.heading_path for b in doc.blocks]
    assert paths == [("Webhook outage",), ("Webhook outage", "Signing secret")]
    for block in doc.blocks:
        assert doc.text[block.start : block.end] == block.text
    assert doc.blocks[1].text == "Rotate the secret.\nThen redeliver."


def test_markdown_code_blocks_stay_whole_and_hash_lines_in_code_are_not_headings() -> None:
    text = "# Runbook\n\n```sh\n# not a heading\n\nkubectl get pods\n```\n\nAfter.\n"
    doc = load_document("r.md", text.encode(), 10**6)
    assert [b.text for b in doc.blocks] == ["```sh\n# not a heading\n\nkubectl get pods\n```", "After."]
    assert all(b.heading_path == ("Runbook",) for b in doc.blocks)


def test_html_drops_navigation_banner_sidebar_and_footer() -> None:
    html = (
        b"<!doctype html><html><head><title>T</title></head><body>"
        b"<header>Shop banner</header><nav><ul><li>Docs</li><li>Login</li></ul></nav>"
        b"<main><article><header><h1>Refund failed</h1></header><p>Check the gateway.</p>"
        b"<aside>Related: shipping</aside><footer>Was this helpful?</footer></article></main>"
        b"<footer>Copyright 2026 shop</footer></body></html>"
    )
    doc = load_document("a.html", html, 10**6)
    assert doc.title == "Refund failed"
    assert [b.text for b in doc.blocks] == ["Check the gateway."]
    for word in ("banner", "Login", "shipping", "helpful", "Copyright"):
        assert word not in doc.text
