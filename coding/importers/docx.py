""".docx: paragraphs streamed from word/document.xml, bold speaker labels kept."""

from __future__ import annotations

from django.utils.translation import gettext as _

from coding.importers.common import (
    Element,
    ParsedDocument,
    _Collector,
    _drop,
    _fail,
    _iterparse,
)
from coding.importers.speakers import _plausible_label, _table_row
from coding.importers.zips import SafeZip
from coding.nlp import normalize_text

# --- .docx: streamed from word/document.xml --------------------------------------------------

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_W_CONTAINERS = {
    f"{W}{t}" for t in ("hyperlink", "ins", "smartTag", "sdt", "sdtContent", "fldSimple")
}
_W_FALSE = {"0", "false", "off"}


def _w_run(run: Element, parts: list[str]) -> bool | None:
    """Append a run's text (as Word shows it); return whether it is bold."""
    bold = False
    for child in run:
        tag = child.tag
        if tag == f"{W}rPr":
            b = child.find(f"{W}b")
            bold = b is not None and b.get(f"{W}val", "true").lower() not in _W_FALSE
        elif tag == f"{W}t":
            parts.append(child.text or "")
        elif tag in (f"{W}tab", f"{W}ptab"):
            parts.append("\t")
        elif tag == f"{W}br" and child.get(f"{W}type") not in ("page", "column"):
            parts.append("\n")
        elif tag == f"{W}br":
            # A page or column break is layout, not a new line, but it still parts two words.
            if parts and parts[-1] and not parts[-1][-1].isspace():
                parts.append(" ")
        elif tag == f"{W}cr":
            parts.append("\n")
        elif tag == f"{W}noBreakHyphen":
            parts.append("-")
    return bold


def _w_paragraph(p: Element) -> tuple[str, str | None]:
    """The paragraph's text and its bold leading label (without the colon), if any."""
    parts: list[str] = []
    bold: list[str] = []
    leading = True
    stack = list(reversed(list(p)))
    while stack:
        el = stack.pop()
        if el.tag == f"{W}r":
            start = len(parts)
            is_bold = _w_run(el, parts)
            text = "".join(parts[start:])
            if leading and text:
                if is_bold:
                    bold.append(text)
                else:
                    leading = False
        elif el.tag in _W_CONTAINERS:
            stack.extend(reversed(list(el)))
    text = normalize_text("".join(parts))
    label = "".join(bold).strip().rstrip(":").strip()
    return text, (label if _plausible_label(label) else None)


def _read_docx(safe: SafeZip) -> ParsedDocument:
    name = safe.name
    out = _Collector(name)
    table_depth = 0
    p_depth = 0
    with safe.open("word/document.xml") as fh:
        for event, el in _iterparse(fh, name):
            tag = el.tag
            if tag == f"{W}tbl":
                table_depth += 1 if event == "start" else -1
            elif tag == f"{W}p":
                p_depth += 1 if event == "start" else -1
                if event == "end" and table_depth == 0 and p_depth == 0:
                    text, label = _w_paragraph(el)
                    if text.strip():
                        out.add_lines(text, label)
                    _drop(el)
            elif tag == f"{W}tr" and event == "end" and table_depth == 1:
                cells: list[str] = []
                for tc in el.iter(f"{W}tc"):
                    t = "\n".join(_w_paragraph(p)[0] for p in tc.iter(f"{W}p")).strip()
                    if t and (not cells or cells[-1] != t):
                        cells.append(t)
                _table_row(out, cells)
                _drop(el)
    if not any(p.text.strip() for p in out.paragraphs):
        raise _fail(name, _("the document has no text."), "empty")
    return ParsedDocument(name=name, fmt="docx", paragraphs=out.paragraphs)
