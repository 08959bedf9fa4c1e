"""Generators of huge and hostile files that a researcher may upload by accident or on purpose.

Shared by the hostile tests (tests/hostile/test_huge_files.py) and ``benchmark import``.

Each builds its bytes in a few hundred milliseconds at most (streamed deflate, no temp files), so
the hostile suite needs no binary fixtures.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import docx

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
ODT_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
    "<office:body><office:text>"
)
ODT_TAIL = "</office:text></office:body></office:document-content>"


def odt(body_xml: str) -> bytes:
    """A minimal .odt whose text body is ``body_xml``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text"
        )  # stored first, as ODF asks
        zf.writestr("content.xml", ODT_HEAD + body_xml + ODT_TAIL)
    return buf.getvalue()


def docx_with_body(body_xml: bytes | str) -> bytes:
    """A real .docx (from python-docx) whose document.xml body is replaced."""
    base = docx.Document()
    out = io.BytesIO()
    base.save(out)
    src = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    if isinstance(body_xml, str):
        body_xml = body_xml.encode()
    xml = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<w:document xmlns:w="'
        + W_NS.encode()
        + b'"><w:body>'
        + body_xml
        + b"</w:body></w:document>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            data = xml if info.filename == "word/document.xml" else src.read(info.filename)
            zf.writestr(info.filename, data)
    return buf.getvalue()


def docx_paragraphs(n: int) -> bytes:
    """A .docx with ``n`` short numbered paragraphs (1,000,000 pack to a few MB)."""
    return docx_with_body(
        "".join(f"<w:p><w:r><w:t>{i} {i * 7919 % 10007}</w:t></w:r></w:p>" for i in range(n))
    )


def txt_paragraphs(n: int) -> bytes:
    """A .txt with ``n`` tiny paragraphs."""
    return b"a\n\n" * n


def lying_docx(real_bytes: int = 400 * 1024 * 1024, declared: int = 4000) -> bytes:
    """A .docx whose zip directory says word/document.xml unpacks to ``declared`` bytes while
    it really unpacks to ``real_bytes``: it passes any check of the directory's sizes."""
    good = zipfile.ZipFile(io.BytesIO(docx_paragraphs(1)))
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b"<w:p><w:r><w:t>aaaaaaaa</w:t></w:r></w:p>" * 1600
    parts = [
        comp.compress(b'<?xml version="1.0"?><w:document xmlns:w="' + W_NS.encode() + b'"><w:body>')
    ]
    written = 0
    crc = 0
    while written < real_bytes:
        parts.append(comp.compress(chunk))
        crc = zlib.crc32(chunk, crc)
        written += len(chunk)
    parts.append(comp.flush())
    deflated = b"".join(parts)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in good.infolist():
            if info.filename != "word/document.xml":
                zf.writestr(info.filename, good.read(info.filename))
    # Append the lying member by hand: local header, data, then rewrite the central directory.
    data = bytearray(buf.getvalue())
    eocd = data.rfind(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack_from("<II", data, eocd + 12)
    central = bytes(data[cd_offset : cd_offset + cd_size])
    n_entries = struct.unpack_from("<H", data, eocd + 10)[0]
    name = b"word/document.xml"
    local_offset = cd_offset
    local = struct.pack(
        "<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(deflated), declared, len(name), 0
    )
    entry = struct.pack(
        "<4sHHHHHHIIIHHHHHII",
        b"PK\x01\x02",
        20,
        20,
        0,
        8,
        0,
        0,
        crc,
        len(deflated),
        declared,
        len(name),
        0,
        0,
        0,
        0,
        0,
        local_offset,
    )
    body = bytes(data[:cd_offset]) + local + name + deflated
    new_cd = central + entry + name
    end = struct.pack(
        "<4sHHHHIIH", b"PK\x05\x06", 0, 0, n_entries + 1, n_entries + 1, len(new_cd), len(body), 0
    )
    return body + new_cd + end


def odt_space_bomb(count: str = "200000000") -> bytes:
    """433 bytes that ask for a paragraph of ``count`` spaces."""
    return odt(f'<text:p>IP: Hei<text:s text:c="{count}"/>du.</text:p>')


def odt_nested(tag: str, depth: int = 5000) -> bytes:
    """A paragraph inside ``depth`` nested ``text:span`` (or sections around it)."""
    if tag == "span":
        return odt(
            "<text:p>" + "<text:span>" * depth + "IP: Hei" + "</text:span>" * depth + "</text:p>"
        )
    return odt("<text:section>" * depth + "<text:p>IP: Hei</text:p>" + "</text:section>" * depth)


def long_paragraph(chars: int = 6_000_000) -> bytes:
    return b"IP: " + b"ord " * (chars // 4)


def long_word(letters: int = 400_000) -> bytes:
    return b"I: Hva sa du?\n\nIP: " + b"a" * letters + b" slutt."


def many_labels(n: int = 1500) -> bytes:
    """``n`` distinct speaker labels, each starting two turns (about 15 KB per 1,000)."""
    lines = []
    for i in range(n):
        lines.append(f"Deltaker{i:04d}: Ja.")
    return ("\n".join(lines * 2)).encode()


def doctype_after_8k() -> bytes:
    """A document.xml whose DOCTYPE-like entity text sits after its first 8 KB."""
    pad = "<w:p><w:r><w:t>I: fyll</w:t></w:r></w:p>" * 300
    return docx_with_body(pad + '<!DOCTYPE x [<!ENTITY e "lol">]>')


def utf8_with_one_bad_byte() -> bytes:
    return "I: Hvordan går det?\n\nIP: Det går bra, på Tøyen.".encode() + b"\xff"


def mz_label() -> bytes:
    return "MZ: Hei, velkommen.\n\nIP: Takk.\n\nMZ: Hvordan går det?".encode()
