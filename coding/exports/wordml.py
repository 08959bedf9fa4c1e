"""WordprocessingML as text: the namespace, the tags, and the one place a run's text and
formatting become XML (``runs_xml``, ``paragraph_xml``), for coding/exports/ooxml.py's writer.

Text goes through ``clean_text`` (characters XML 1.0 forbids are dropped, never written, so the
file always opens); line breaks become ``w:br`` and tabs ``w:tab``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from lxml import etree

# An lxml element (w:p, w:tbl, w:sectPr, ...), and a python-docx Document: both libraries
# come without type information, so these name what is passed rather than check it.
Element: TypeAlias = Any
DocxDocument: TypeAlias = Any

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"

# Everything outside XML 1.0's Char production: C0 controls but tab/LF/CR, surrogates, FFFE/FFFF.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_BREAKS = re.compile(r"(\n|\t)")


def w(tag: str) -> str:
    return f"{{{W_NS}}}{tag}"


# Tags used in the hot loop, qualified once.
P, PPR, PSTYLE, R, RPR, T, BR, TAB = (
    w(t) for t in ("p", "pPr", "pStyle", "r", "rPr", "t", "br", "tab")
)
VAL, BOLD, ITALIC, COLOR = w("val"), w("b"), w("i"), w("color")


def clean_text(text: str) -> str:
    """``text`` without the characters XML forbids; CR and CRLF become LF."""
    text = _FORBIDDEN.sub("", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


W_DECL = f' xmlns:w="{W_NS}"'


def escape_xml(text: str, *, quote: bool = False) -> str:
    """``text`` as XML character data (``quote``: as an attribute value in double quotes).
    ``str.replace`` per character that needs it, each guarded by a test: most text has none,
    and ``str.translate`` with a mapping costs a dictionary lookup per character (200 times
    slower on a long quote)."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if quote and '"' in text:
        text = text.replace('"', "&quot;")
    return text


def _text_xml(text: str) -> str:
    return f'<w:t xml:space="preserve">{escape_xml(text)}</w:t>'


def runs_xml(runs: Iterable[Run]) -> str:
    """The ``w:r`` elements of ``runs`` (an empty run is left out), as XML text with the ``w:``
    prefix. The one place a run's text and formatting become WordprocessingML."""
    out = []
    for run in runs:
        if not run.text:
            continue
        out.append("<w:r>")
        if run.bold or run.italic or run.muted:
            out.append(
                "<w:rPr>"
                + ("<w:b/>" if run.bold else "")
                + ("<w:i/>" if run.italic else "")
                + ('<w:color w:val="595959"/>' if run.muted else "")
                + "</w:rPr>"
            )
        text = clean_text(run.text)
        if "\n" not in text and "\t" not in text:
            out.append(_text_xml(text))
        else:
            for part in _BREAKS.split(text):
                if part == "\n":
                    out.append("<w:br/>")
                elif part == "\t":
                    out.append("<w:tab/>")
                elif part:
                    out.append(_text_xml(part))
        out.append("</w:r>")
    return "".join(out)


def paragraph_xml(runs: Iterable[Run], style_id: str | None = None) -> str:
    """A ``w:p`` of ``runs`` in the paragraph style ``style_id``, as XML text."""
    ppr = (
        f'<w:pPr><w:pStyle w:val="{escape_xml(style_id, quote=True)}"/></w:pPr>' if style_id else ""
    )
    return f"<w:p>{ppr}{runs_xml(runs)}</w:p>"


def parse_xml(xml: str) -> Element:
    """The element of one ``w:``-prefixed XML fragment (a paragraph of a table cell, the table
    of contents). Parsed inside a wrapper that declares ``w``, so the element carries no
    declaration of its own once it is moved into the document."""
    return etree.fromstring(f"<w:wrap{W_DECL}>{xml}</w:wrap>")[0]


@dataclass(frozen=True, slots=True)
class Run:
    """A piece of text with direct formatting (kept small: bold, italic, grey)."""

    text: str
    bold: bool = False
    italic: bool = False
    muted: bool = False


def as_runs(content: str | Run | Sequence[Run | str]) -> Iterable[Run]:
    if isinstance(content, str):
        return (Run(content),)
    if isinstance(content, Run):
        return (content,)
    return (Run(c) if isinstance(c, str) else c for c in content)
