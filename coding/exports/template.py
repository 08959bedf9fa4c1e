"""Checking a researcher's Word template (.docx or .dotx) before an export uses its styles.

The upload goes through the same byte checks as a transcript import (content, not file name:
zip bombs, encryption, old .doc files, programs) plus what matters for a template: no macros,
and a main part python-docx can open. A .dotx is turned into a .docx (only its content type
differs) so the export can start from it.
"""

from __future__ import annotations

import io
import zipfile
from typing import BinaryIO

import docx
from django.conf import settings
from django.utils.translation import gettext as _

from coding.importers import _fail, open_zip_safely, sniff_format

# python-docx holds a template's parts in memory, its XML as a tree of about 25 times the XML's
# size: the real unpacked sizes are what bound it (a template is styles, not a long text).
TEMPLATE_MAX_UNPACKED_BYTES = 40 * 1024 * 1024
TEMPLATE_MAX_XML_BYTES = 8 * 1024 * 1024
DOCX_MAIN = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
DOTX_MAIN = b"application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml"


def check_template(fh: BinaryIO, name: str) -> bytes:
    """The template's bytes, ready for ``docx.Document``; ValidationError naming the file."""
    data = fh.read(settings.UPLOAD_MAX_BYTES + 1)
    if len(data) > settings.UPLOAD_MAX_BYTES:
        limit_mb = settings.UPLOAD_MAX_BYTES // (1024 * 1024)
        raise _fail(name, _("the file is larger than %(mb)s MB.") % {"mb": limit_mb}, "too_big")
    if not data:
        raise _fail(name, _("the file is empty."), "empty")
    kind = sniff_format(data[:8])
    if kind == "ole":
        raise _fail(
            name,
            _(
                "this is a password-protected Word file or an old .doc file. Save the template "
                "as .docx or .dotx without a password."
            ),
            "encrypted_or_doc",
        )
    if kind != "zip":
        raise _fail(name, _("a template must be a Word file (.docx or .dotx)."), "wrong_type")
    safe = open_zip_safely(data, name, max_unpacked=TEMPLATE_MAX_UNPACKED_BYTES)
    zf, names = safe.zf, safe.names
    if safe.xml_bytes() > TEMPLATE_MAX_XML_BYTES:
        raise _fail(
            name,
            _(
                "the template holds %(mb)s MB of document text and styles; a template may hold "
                "at most %(max)s MB. Delete the text from the template and upload it again."
            )
            % {
                "mb": f"{safe.xml_bytes() / (1024 * 1024):.0f}",
                "max": TEMPLATE_MAX_XML_BYTES // (1024 * 1024),
            },
            "too_big",
        )
    if "word/document.xml" not in names:
        raise _fail(name, _("a template must be a Word file (.docx or .dotx)."), "wrong_type")
    if any(n.endswith("vbaProject.bin") for n in names):
        raise _fail(
            name,
            _("the template contains macros. Save it as .docx or .dotx without macros."),
            "macros",
        )
    if DOTX_MAIN in _read(zf, "[Content_Types].xml", name):
        data = _as_docx(zf)
    try:
        document = docx.Document(io.BytesIO(data))
        document.styles  # noqa: B018 - parsing the styles part is the check
    except Exception as exc:  # python-docx raises many types for broken parts
        raise _fail(
            name, _("the Word file is damaged and cannot be used as a template."), "corrupt"
        ) from exc
    return data


def _read(zf: zipfile.ZipFile, part: str, name: str) -> bytes:
    try:
        return zf.read(part)
    except (KeyError, zipfile.BadZipFile, OSError) as exc:
        raise _fail(name, _("the file is damaged (not a readable Word file)."), "corrupt") from exc


def _as_docx(zf: zipfile.ZipFile) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in zf.infolist():
            content = zf.read(info.filename)
            if info.filename == "[Content_Types].xml":
                content = content.replace(DOTX_MAIN, DOCX_MAIN)
            out.writestr(info.filename, content)
    return buf.getvalue()
