""".odt: paragraphs streamed from content.xml."""

from __future__ import annotations

from django.utils.translation import gettext as _

from coding.importers.common import (
    MAX_SPACE_RUN,
    Element,
    ParsedDocument,
    _Collector,
    _drop,
    _fail,
    _iterparse,
)
from coding.importers.speakers import _table_row
from coding.importers.zips import SafeZip
from coding.nlp import normalize_text

# --- .odt: streamed from content.xml ---------------------------------------------------------

ODF_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
ODF_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
ODF_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_T = f"{{{ODF_TEXT}}}"
_ODF_PARAS = (f"{_T}p", f"{_T}h")


def _odf_text(el: Element, name: str) -> str:
    """The text of a paragraph element, without recursion (any nesting depth)."""
    parts: list[str] = []
    # Items are elements to open, or strings (a closed child's tail) to append.
    stack: list = [el]
    first = True
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            continue
        tag = item.tag
        if not first:
            if item.tail:
                stack.append(item.tail)
            if tag == f"{_T}s":
                try:
                    n = int(item.get(f"{_T}c", "1"))
                except ValueError as exc:
                    raise _fail(
                        name, _("the OpenDocument file is damaged (a bad space count)."), "corrupt"
                    ) from exc
                parts.append(" " * max(0, min(n, MAX_SPACE_RUN)))
                continue
            if tag == f"{_T}tab":
                parts.append("\t")
                continue
            if tag == f"{_T}line-break":
                parts.append("\n")
                continue
            if tag == f"{_T}note":
                continue  # footnotes are not part of the spoken text
        first = False
        parts.append(item.text or "")
        stack.extend(reversed(list(item)))
    return "".join(parts)


def _read_odt(safe: SafeZip) -> ParsedDocument:
    name = safe.name
    out = _Collector(name)
    in_body = False
    table_depth = 0
    p_depth = 0
    with safe.open("content.xml") as fh:
        for event, el in _iterparse(fh, name):
            tag = el.tag
            if tag == f"{{{ODF_OFFICE}}}text" and el.getparent() is not None:
                in_body = event == "start" or in_body
                continue
            if not in_body:
                continue
            if tag == f"{{{ODF_TABLE}}}table":
                table_depth += 1 if event == "start" else -1
            elif tag in _ODF_PARAS:
                p_depth += 1 if event == "start" else -1
                if event == "end" and table_depth == 0 and p_depth == 0:
                    out.add_lines(normalize_text(_odf_text(el, name)))
                    _drop(el)
            elif tag == f"{{{ODF_TABLE}}}table-row" and event == "end" and table_depth == 1:
                cells = [
                    normalize_text(_odf_text(p, name)).strip()
                    for cell in el
                    for p in cell.iter(*_ODF_PARAS)
                ]
                _table_row(out, [c for c in cells if c])
                _drop(el)
    if not in_body:
        raise _fail(name, _("the OpenDocument file has no text body."), "corrupt")
    if not out.paragraphs:
        raise _fail(name, _("the document has no text."), "empty")
    return ParsedDocument(name=name, fmt="odt", paragraphs=out.paragraphs)
