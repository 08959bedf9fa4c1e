"""Reading an uploaded transcript: the bytes sniffed (content, not the file name), then the
format's reader.
"""

from __future__ import annotations

from typing import IO

from django.conf import settings
from django.utils.translation import gettext as _

from coding.importers.common import ParsedDocument, _fail
from coding.importers.docx import _read_docx
from coding.importers.odt import _read_odt
from coding.importers.txt import _read_text
from coding.importers.zips import open_zip_safely

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .doc, or an encrypted (password) .docx
PDF_MAGIC = b"%PDF"
EXE_MAGIC = b"MZ"
ELF_MAGIC = b"\x7fELF"
ODT_MIME = b"application/vnd.oasis.opendocument.text"


def sniff_format(head: bytes) -> str:
    """'zip', 'ole', 'pdf', 'exe' or 'text' from the first (up to 64) bytes."""
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head.startswith(OLE_MAGIC):
        return "ole"
    if head.startswith(PDF_MAGIC):
        return "pdf"
    # "MZ" alone may start a transcript ("MZ: Hei"); a program has NUL bytes in its header.
    if (head.startswith(EXE_MAGIC) and b"\x00" in head[:64]) or head.startswith(ELF_MAGIC):
        return "exe"
    return "text"


def read_document(fh: IO[bytes], name: str, *, encoding: str | None = None) -> ParsedDocument:
    """Validate and parse an uploaded transcript. Raises ValidationError naming the file.

    ``encoding`` (one of TEXT_ENCODINGS) reads a text file so, instead of guessing; "utf-8"
    then turns bytes that are not UTF-8 into U+FFFD."""
    data = fh.read(settings.UPLOAD_MAX_BYTES + 1)
    if len(data) > settings.UPLOAD_MAX_BYTES:
        limit_mb = settings.UPLOAD_MAX_BYTES // (1024 * 1024)
        raise _fail(name, _("the file is larger than %(mb)s MB.") % {"mb": limit_mb}, "too_big")
    if not data.strip():
        raise _fail(name, _("the file is empty."), "empty")
    kind = sniff_format(data[:64])
    if kind == "ole":
        raise _fail(
            name,
            _(
                "this is a password-protected Word file or an old .doc file. Remove the "
                "password or save it as .docx and upload again."
            ),
            "encrypted_or_doc",
        )
    if kind == "pdf":
        raise _fail(name, _("PDF files are not supported; upload .docx, .odt or .txt."), "pdf")
    if kind == "exe":
        raise _fail(name, _("this is a program, not a transcript."), "wrong_type")
    if kind == "zip":
        return _read_zip(data, name)
    return ParsedDocument(name=name, fmt="txt", **_read_text(data, name, encoding))


def _read_zip(data: bytes, name: str) -> ParsedDocument:
    safe = open_zip_safely(data, name)
    names = safe.names
    if "word/document.xml" in names:
        if any(n.endswith("vbaProject.bin") for n in names):
            raise _fail(
                name,
                _("the document contains macros. Save it as a plain .docx without macros."),
                "macros",
            )
        if safe.declares_dtd:
            raise _fail(name, _("the Word file is damaged and cannot be read."), "corrupt")
        return _read_docx(safe)
    if "mimetype" in names:
        if safe.read("mimetype").strip() == ODT_MIME:
            if safe.declares_dtd:
                raise _fail(name, _("the OpenDocument file is damaged."), "corrupt")
            return _read_odt(safe)
    raise _fail(name, _("this zip file is not a .docx or .odt document."), "wrong_type")
