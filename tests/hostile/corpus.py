"""A corpus of bad and hostile files: each with the error code the importer must give.

Built in code (tests/docs.py has the basic builders), so the corpus needs no binary fixtures and
every file says how it is broken. ``BAD_FILES`` must all be refused; ``ACCEPTED_HOSTILE`` are
valid transcripts whose content or name is hostile: they import, and pages show them escaped.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from .. import docs

SCRIPT = "<script>alert('xss')</script>"
IMG = '<img src=x onerror="alert(1)">'


@dataclass(frozen=True)
class BadFile:
    name: str
    build: Callable[[], bytes]
    code: str  # the ValidationError code read_document gives
    why: str


def _docx(*paragraphs: str) -> bytes:
    return docs.make_docx(list(paragraphs) or ["I: Hei.", "IP: Hallo."])


def _odt(paragraphs: list[str]) -> bytes:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        return docs.make_odt(paragraphs, Path(d))


def _zip(files: dict[str, bytes], *, encrypt_flag: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, content)
    data = bytearray(buf.getvalue())
    if encrypt_flag:
        # Set the "encrypted" bit of every local and central header, as password tools do.
        for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            pos = data.find(sig)
            while pos != -1:
                flags = struct.unpack_from("<H", data, pos + off)[0]
                struct.pack_into("<H", data, pos + off, flags | 0x1)
                pos = data.find(sig, pos + 4)
    return bytes(data)


def _odt_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        with zf.open("content.xml", "w", force_zip64=True) as fh:
            for _ in range(250):
                fh.write(b" " * (1024 * 1024))
    return buf.getvalue()


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b']><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    b"<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"
)
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    b"<w:body><w:p><w:r><w:t>I: &xxe;</w:t></w:r></w:p></w:body></w:document>"
)
ODT_WITH_ENTITIES = (
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    b'<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
    b' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>'
    b"<text:p>I: &b;</text:p></office:text></office:body></office:document-content>"
)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 400


def _huge() -> bytes:
    # UPLOAD_MAX_BYTES is lowered to 1 MB in these tests; this is just over it.
    return b"I: " + b"Et langt svar. " * (1024 * 1024 // 15 + 10)


BAD_FILES: list[BadFile] = [
    BadFile("tom.docx", lambda: b"", "empty", "an empty file"),
    BadFile("blank.txt", lambda: b"  \r\n\n \t ", "empty", "white space only"),
    BadFile("nul.txt", lambda: b"\x00", "bad_encoding", "a single NUL byte"),
    BadFile("halv.docx", lambda: _docx()[: len(_docx()) // 2], "corrupt", "a truncated .docx"),
    BadFile(
        "halv.odt",
        lambda: _odt(["I: Hei.", "IP: Hallo."])[:300],
        "corrupt",
        "a truncated .odt",
    ),
    BadFile(
        "skadet.docx", lambda: b"PK\x03\x04" + os.urandom(2000), "corrupt", "zip magic, garbage"
    ),
    BadFile(
        "uten-dokument.docx",
        lambda: docs.rezip(_docx(), drop={"word/document.xml"}),
        "wrong_type",
        "a .docx without its document part",
    ),
    BadFile(
        "ødelagt-xml.docx",
        lambda: docs.rezip(_docx(), replace={"word/document.xml": b"<w:document><w:body"}),
        "corrupt",
        "a .docx with broken XML",
    ),
    BadFile("passord.docx", lambda: docs.OLE_ENCRYPTED, "encrypted_or_doc", "password-protected"),
    BadFile(
        "zip-passord.docx",
        lambda: _zip(
            {"word/document.xml": b"<x/>", "[Content_Types].xml": b"<T/>"}, encrypt_flag=True
        ),
        "encrypted_or_doc",
        "a zip with encrypted entries",
    ),
    BadFile("bombe.docx", docs.zip_bomb, "zip_bomb", "a zip bomb shaped as .docx"),
    BadFile("bombe.odt", _odt_bomb, "zip_bomb", "a zip bomb shaped as .odt"),
    BadFile(
        "makro.docx",
        lambda: docs.rezip(_docx(), add={"word/vbaProject.bin": b"\xd0\xcf\x11\xe0VBA"}),
        "macros",
        "a .docx with a VBA project",
    ),
    BadFile(
        "makro.docm",
        lambda: docs.rezip(
            _docx(), add={"word/vbaProjectSignature.bin": b"x", "word/vbaProject.bin": b"x"}
        ),
        "macros",
        "a macro-enabled .docm",
    ),
    BadFile("program.docx", lambda: docs.EXE, "wrong_type", "a Windows program renamed .docx"),
    BadFile("program.txt", lambda: ELF, "wrong_type", "a Linux program renamed .txt"),
    BadFile("rapport.docx", lambda: docs.PDF, "pdf", "a PDF renamed .docx"),
    BadFile(
        "gammel.doc",
        lambda: docs.OLE_ENCRYPTED[:8] + b"\0" * 600,
        "encrypted_or_doc",
        "an old .doc",
    ),
    BadFile("støy.txt", lambda: os.urandom(64 * 1024) + b"\0", "bad_encoding", "random bytes"),
    BadFile("bilde.docx", lambda: PNG, "bad_encoding", "a PNG image renamed .docx"),
    BadFile(
        "utf32.txt",
        lambda: "I: Hei på deg.\nIP: Hallo.".encode("utf-32"),
        "bad_encoding",
        "UTF-32 text (not a supported encoding)",
    ),
    BadFile(
        "kontrolltegn.txt",
        lambda: ("I: Hei\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f" * 50).encode(),
        "bad_encoding",
        "text full of control characters",
    ),
    BadFile("stor.txt", _huge, "too_big", "a file over the upload limit"),
    BadFile("tomt-dokument.docx", lambda: docs.make_docx([]), "empty", "a .docx without any text"),
    BadFile(
        "feil-mimetype.odt",
        lambda: _zip(
            {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"}
        ),
        "wrong_type",
        "a spreadsheet (.ods) renamed .odt",
    ),
    BadFile(
        "bare-zip.docx",
        lambda: _zip({"notater.txt": b"I: Hei."}),
        "wrong_type",
        "a zip archive that is no document",
    ),
    BadFile(
        "latter.docx",
        lambda: docs.rezip(_docx(), replace={"word/document.xml": BILLION_LAUGHS}),
        "corrupt",
        "billion laughs: nested XML entities",
    ),
    BadFile(
        "xxe.docx",
        lambda: docs.rezip(_docx(), replace={"word/document.xml": XXE}),
        "corrupt",
        "an external entity pointing at /etc/passwd",
    ),
    BadFile(
        "entiteter.odt",
        lambda: docs.rezip(_odt(["I: Hei."]), replace={"content.xml": ODT_WITH_ENTITIES}),
        "corrupt",
        "an .odt whose XML declares entities",
    ),
]

# Valid transcripts with hostile content or names: imported, and always shown escaped.
HOSTILE_TEXT = [
    f"I: Hva skjedde? {SCRIPT}",
    f"IP: Vi skrev {IMG} i saken & la ved <b>fet</b> tekst.",
    "I: Og så?",
    'IP: "></textarea><script src=//evil.example/x.js></script> og {{ 7*7 }} {% now "Y" %}',
]
HOSTILE_NAMES = [
    f"{IMG}.txt",
    "../../../../etc/passwd.txt",
    "a" * 300 + ".txt",
]
