"""Builders for test documents, good and hostile. Each returns bytes."""

from __future__ import annotations

import io
import zipfile

import docx

from coding.management.demo import write_odt


def make_docx(
    paragraphs: list[str], *, bold_labels: bool = False, table: list[list[str]] | None = None
) -> bytes:
    document = docx.Document()
    for par in paragraphs:
        p = document.add_paragraph()
        label, sep, rest = par.partition(": ")
        if bold_labels and sep:
            p.add_run(label + ":").bold = True
            p.add_run(" " + rest)
        else:
            p.add_run(par)
    if table:
        t = document.add_table(rows=0, cols=len(table[0]))
        for row in table:
            cells = t.add_row().cells
            for cell, value in zip(cells, row, strict=True):
                cell.text = value
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def make_odt(paragraphs: list[str], tmp_path) -> bytes:
    path = tmp_path / "x.odt"
    write_odt(paragraphs, path)
    return path.read_bytes()


def rezip(
    data: bytes,
    *,
    add: dict[str, bytes] | None = None,
    drop: set[str] = frozenset(),
    replace: dict[str, bytes] | None = None,
) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if info.filename in drop:
                continue
            content = (replace or {}).get(info.filename, src.read(info.filename))
            out.writestr(info.filename, content)
        for name, content in (add or {}).items():
            out.writestr(name, content)
    return buf.getvalue()


def zip_bomb() -> bytes:
    """A .docx-shaped zip whose one part unpacks to 300 MB of zeros (about 300 KB packed)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("word/document.xml", "w", force_zip64=True) as fh:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(300):
                fh.write(chunk)
    return buf.getvalue()


OLE_ENCRYPTED = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + b"EncryptedPackage" * 32
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\0" * 200 + b"This program cannot"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF"
