"""A minimal PDF writer for tests: real PDF files (Helvetica text, one content stream per page)."""

from __future__ import annotations

import io


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[list[str]], title: str | None = None) -> bytes:
    """A PDF with one page per item of `pages`; each string is one line of text."""
    objects: list[bytes] = []
    n_pages = len(pages)
    font_id = 3 + 2 * n_pages
    info_id = font_id + 1
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n_pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    for i, lines in enumerate(pages):
        content_id = 4 + 2 * i
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        ops = ["BT", "/F1 11 Tf", "14 TL", "72 740 Td"]
        for line in lines:
            ops.append(f"({_escape(line)}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    objects.append(f"<< /Title ({_escape(title or '')}) >>".encode())
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    trailer = f"<< /Size {len(objects) + 1} /Root 1 0 R"
    trailer += f" /Info {info_id} 0 R >>" if title else " >>"
    out.write(f"trailer\n{trailer}\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def encrypt_pdf(data: bytes, password: str = "secret") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(data)).pages:
        writer.add_page(page)
    writer.encrypt(user_password=password, owner_password=password, algorithm="RC4-128")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def aes_encrypted_pdf(data: bytes) -> bytes:
    """An AES-256 (V5/R6) encrypted PDF made without a crypto library: the RC4 file's security handler is
    rewritten to name AESV3, with a user hash that matches the empty password, so pypdf needs `cryptography`
    to go on (as with a real AES file from a PDF writer)."""
    import hashlib
    import re

    encrypted = encrypt_pdf(data, password="")
    salt = b"12345678"
    user = (hashlib.sha256(salt).digest() + salt + b"abcdefgh").hex().encode()
    handler = (
        b"/V 5\n/R 6\n/Length 256\n/CF << /StdCF << /CFM /AESV3 /AuthEvent /DocOpen /Length 32 >> >>\n"
        b"/StmF /StdCF\n/StrF /StdCF\n/OE <"
        + b"00" * 32
        + b">\n/UE <"
        + b"00" * 32
        + b">\n/Perms <"
        + b"00" * 16
        + b">\n"
    )
    out = encrypted.replace(b"/V 2\n/R 3\n/Length 128\n", handler)
    out = re.sub(rb"/U <[0-9a-f]+>", b"/U <" + user + b">", out)
    return re.sub(rb"/O <[0-9a-f]+>", b"/O <" + b"11" * 48 + b">", out)


def costly_pdf(operators: int = 500_000, chars: int = 200) -> bytes:
    """A real, small PDF whose one page has a Flate-compressed content stream of `operators` text-showing
    operators, each showing `chars` characters: under pypdf's own token limit (2,000,000 per stream), a few
    KB on disk, tens of CPU seconds for a text extractor."""
    from pypdf import PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        NameObject,
    )

    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 1 Tf " + (b"(" + b"x" * chars + b") Tj ") * operators + b"ET")
    page[NameObject("/Contents")] = ArrayObject([writer._add_object(stream.flate_encode())])
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()
