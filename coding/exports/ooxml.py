"""A linear-time WordprocessingML writer on top of python-docx, whose memory does not grow
with the document.

python-docx's ``Document.add_paragraph`` finds the body's ``w:sectPr`` by scanning every child of
the body, so a document of n paragraphs costs O(n²) to build; and a document built as one lxml
tree holds every paragraph in memory until it is saved. ``DocxWriter`` writes each body
paragraph's XML once, as a string (``paragraph_xml``), into a temporary file as it comes; only
what must change later (the table of contents, filled in when the headings are known) is held
as lxml elements, at its place in the stream. On save python-docx writes the package around an
empty body, and the streamed body is poured into ``word/document.xml`` as the package is copied.
Style names are resolved to style ids once.

Text goes through ``clean_text`` (characters XML 1.0 forbids are dropped, never written, so the
file always opens); line breaks become ``w:br`` and tabs ``w:tab``, which python-docx reads back
as "\\n" and "\\t".
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import re
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from typing import IO, BinaryIO

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.parser import OxmlElement
from docx.section import Section
from docx.shared import Pt, RGBColor
from lxml import etree

from coding.exports.wordml import (
    PPR,
    VAL,
    W_DECL,
    W_NS,
    XML_SPACE,
    DocxDocument,
    Element,
    P,
    R,
    Run,
    T,
    as_runs,
    clean_text,
    paragraph_xml,
    parse_xml,
    runs_xml,
    w,
)

# A4 in twentieths of a point, 2.5 cm margins: python-docx's default template is US Letter.
A4 = {"w": "11906", "h": "16838"}
A4_MARGIN = "1417"

# What may follow w:updateFields in w:settings (the schema fixes the order; Word checks it).
UPDATE_FIELDS_SUCCESSORS = (
    "w:hdrShapeDefaults",
    "w:footnotePr",
    "w:endnotePr",
    "w:compat",
    "w:docVars",
    "w:rsids",
    "m:mathPr",
    "w:attachedSchema",
    "w:themeFontLang",
    "w:clrSchemeMapping",
    "w:doNotIncludeSubdocsInStats",
    "w:doNotAutoCompressPictures",
    "w:forceUpgrade",
    "w:captions",
    "w:readModeInkLockDown",
    "w:smartTagType",
    "sl:schemaLibrary",
    "w:shapeDefaults",
    "w:doNotEmbedSmartTags",
    "w:decimalSymbol",
    "w:listSeparator",
)

# The document's body is streamed between these (see DocxWriter.save).
_BODY_MARK = "casestudy-streamed-body"
_TAG_NAME = re.compile(r"<[\w:]+")
# Characters of body XML gathered before they go to the temporary file.
_FLUSH_CHARS = 1 << 18


class StyleMap:
    """Style name -> style id for the document's styles, looked up once.

    A name the document (a user's template) lacks is copied from python-docx's default template
    together with the styles it is based on, so the export never depends on what the template
    happens to define. Names compare case-insensitively: Word writes built-in names in lower
    case ("heading 1") and localises only the ids ("Overskrift1").
    """

    def __init__(self, document: DocxDocument) -> None:
        self.document = document
        self._root = document.styles.element
        self._ids: dict[str, str] = {}
        for el in self._root.iterfind(w("style")):
            name = el.find(w("name"))
            if name is not None:
                self._ids.setdefault(name.get(VAL).lower(), el.get(w("styleId")))
        self._fallback: Element = None  # python-docx's default styles, read on first need

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._ids

    def id(self, name: str) -> str:
        key = name.lower()
        if key not in self._ids:
            self._copy_from_default(name)
        return self._ids[key]

    def add_paragraph_style(
        self,
        name: str,
        *,
        size: float | None = None,
        italic: bool = False,
        color: str | None = None,
        space_before: float | None = None,
        space_after: float | None = None,
        keep_with_next: bool = False,
        indent: float | None = None,
        based_on: str = "Normal",
    ) -> None:
        """Define a paragraph style unless the template already has one of this name."""
        if name in self:
            return
        style = self.document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        base_id = self.id(based_on)
        style.base_style = self.document.styles.get_by_id(base_id, WD_STYLE_TYPE.PARAGRAPH)
        style.quick_style = True
        font = style.font
        if size:
            font.size = Pt(size)
        if italic:
            font.italic = True
        if color:
            font.color.rgb = RGBColor.from_string(color)
        fmt = style.paragraph_format
        if space_before is not None:
            fmt.space_before = Pt(space_before)
        if space_after is not None:
            fmt.space_after = Pt(space_after)
        if indent is not None:
            fmt.left_indent = Pt(indent)
        if keep_with_next:
            fmt.keep_with_next = True
        self._ids[name.lower()] = style.style_id

    def _copy_from_default(self, name: str) -> None:
        if self._fallback is None:
            self._fallback = docx.Document().styles.element
        wanted = name.lower()
        source = None
        for el in self._fallback.iterfind(w("style")):
            n = el.find(w("name"))
            if n is not None and n.get(VAL).lower() == wanted:
                source = el
                break
        if source is None:
            raise KeyError(f"no style named {name!r} in the template or python-docx's default")
        taken = {el.get(w("styleId")) for el in self._root.iterfind(w("style"))}
        clone = copy.deepcopy(source)
        style_id = clone.get(w("styleId"))
        while style_id in taken:  # an id the template uses for another (localised) style
            style_id += "X"
        clone.set(w("styleId"), style_id)
        # A link to a character style ("Quote Char") is cosmetic; drop it rather than chase it.
        for link in clone.findall(w("link")):
            clone.remove(link)
        self._ids[wanted] = style_id
        based = clone.find(w("basedOn"))
        if based is not None:
            base_name = self._name_in_fallback(based.get(VAL))
            if base_name:
                based.set(VAL, self.id(base_name))
            else:
                clone.remove(based)
        nxt = clone.find(w("next"))
        if nxt is not None:
            clone.remove(nxt)
        self._root.append(clone)

    def _name_in_fallback(self, style_id: str) -> str | None:
        for el in self._fallback.iterfind(w("style")):
            if el.get(w("styleId")) == style_id:
                n = el.find(w("name"))
                return n.get(VAL) if n is not None else None
        return None


class DocxWriter:
    """Builds one .docx. Appends are O(1); nothing scans the body; the body's paragraphs go to
    a temporary file as they are written, so memory stays flat however long the document is.

    ``template`` is a .docx (already validated) whose styles, page setup, headers and footers the
    export uses; its body text is dropped.
    """

    def __init__(self, template: BinaryIO | None = None) -> None:
        self.document = docx.Document(template)
        self.uses_template = template is not None
        body = self.document.element.body
        self._sect_pr = body.find(w("sectPr"))
        for child in list(body):
            body.remove(child)
        if self._sect_pr is None:
            self._sect_pr = OxmlElement("w:sectPr")
        self.body = body
        self.styles = StyleMap(self.document)
        self._style_ids: dict[str, str] = {}
        if not self.uses_template:
            self._a4(self._sect_pr)
        # Streamed fragments use the document's own "w" prefix; a template that maps it
        # elsewhere (none we know of) gets the declaration on every fragment instead.
        self._decl = "" if self.document.element.nsmap.get("w") == W_NS else W_DECL
        self._stream: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by save()
        self._pending: list[str] = []
        self._pending_chars = 0
        # Elements written later than their place (the table of contents): stream offset -> them.
        self._held: list[tuple[int, list[Element]]] = []

    # --- the body stream ------------------------------------------------------------------

    def _emit(self, xml: str, *, declared: bool = False) -> None:
        """Append one top-level body element, as ``w:``-prefixed XML text (``declared``: it
        declares its namespaces itself)."""
        if self._decl and not declared:
            name_end = _TAG_NAME.match(xml).end()  # type: ignore[union-attr] # XML we wrote
            xml = xml[:name_end] + self._decl + xml[name_end:]
        self._pending.append(xml)
        self._pending_chars += len(xml)
        if self._pending_chars > _FLUSH_CHARS:
            self._flush()

    def _emit_element(self, el: Element) -> None:
        """Append an lxml element (a table, a section break) built apart from the body."""
        xml = etree.tostring(el, encoding="unicode")
        if self._decl:
            self._emit(xml, declared=True)
        else:
            self._emit(xml.replace(W_DECL, "", 1))

    def _flush(self) -> None:
        if self._pending:
            self._stream.write("".join(self._pending).encode("utf-8"))
            self._pending.clear()
            self._pending_chars = 0

    def _hold(self) -> list[Element]:
        """A place in the body for elements filled in later: a list to append them to."""
        self._flush()
        held: list[Element] = []
        self._held.append((self._stream.tell(), held))
        return held

    # --- styles ---------------------------------------------------------------------------

    def style_id(self, name: str) -> str:
        sid = self._style_ids.get(name)
        if sid is None:
            sid = self._style_ids[name] = self.styles.id(name)
        return sid

    # --- paragraphs -----------------------------------------------------------------------

    def paragraph(
        self,
        content: str | Run | Sequence[Run | str] = "",
        style: str | None = None,
        *,
        parent: Element | None = None,
    ) -> None:
        """Append a paragraph of ``content`` in paragraph style ``style`` to the body, or to
        ``parent`` (a table cell)."""
        xml = paragraph_xml(as_runs(content), self.style_id(style) if style else None)
        if parent is None:
            self._emit(xml)
        else:
            parent.append(parse_xml(xml))

    def _run(self, p: Element, run: Run) -> None:
        """Add ``run`` to the lxml paragraph ``p`` (the table of contents)."""
        p.extend(list(parse_xml(f"<w:p>{runs_xml([run])}</w:p>")))

    def heading(self, text: str, level: int) -> None:
        self.paragraph(text, f"Heading {level}")

    def page_break(self) -> None:
        self._emit('<w:p><w:r><w:br w:type="page"/></w:r></w:p>')

    # --- fields ---------------------------------------------------------------------------

    def _field_char(self, p: Element, kind: str, dirty: bool = False) -> None:
        fc = etree.SubElement(etree.SubElement(p, R), w("fldChar"))
        fc.set(w("fldCharType"), kind)
        if dirty:
            fc.set(w("dirty"), "true")

    def _instr(self, p: Element, instr: str) -> None:
        it = etree.SubElement(etree.SubElement(p, R), w("instrText"))
        it.text = f" {instr} "
        it.set(XML_SPACE, "preserve")

    def toc(self, title: str, placeholder: str, levels: int = 1) -> TocField:
        """A table of contents (headings 1 to ``levels``) that Word fills in when the file opens.

        Returns a handle whose ``fill`` writes the headings as the field's cached result, so a
        reader that does not update fields still shows the chapters.
        """
        self.paragraph(title, "TOC Heading")
        held = self._hold()
        p = parse_xml("<w:p/>")
        self._field_char(p, "begin", dirty=True)
        self._instr(p, f'TOC \\o "1-{levels}" \\h \\z \\u')
        self._field_char(p, "separate")
        held.append(p)
        return TocField(self, held, placeholder, levels)

    def page_number_footer(self) -> None:
        """A centred page number in the footer, unless the template's footer has content.

        Call before any ``section_break``: each section copies the footer reference.
        """
        # The body's sectPr is out of the body while we write, so wrap it directly.
        footer = Section(self._sect_pr, self.document.part).footer
        if self.uses_template and not footer.is_linked_to_previous:
            if any(par.text.strip() for par in footer.paragraphs):
                return
        par = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
        par.alignment = WD_ALIGN_PARAGRAPH.CENTER  # python-docx keeps w:pPr's schema order
        p = par._p
        self._field_char(p, "begin")
        self._instr(p, "PAGE")
        self._field_char(p, "separate")
        etree.SubElement(etree.SubElement(p, R), T).text = "1"
        self._field_char(p, "end")

    # --- tables ---------------------------------------------------------------------------

    def table(
        self,
        rows: Sequence[Sequence[str | Run | Sequence[Run | str]]],
        *,
        header_rows: int = 1,
        widths: Sequence[int] | None = None,
        style: str = "Table Grid",
        cell_style: str | None = None,
    ) -> None:
        """A table with ``header_rows`` repeated on each page; ``widths`` are relative."""
        n_cols = max(len(r) for r in rows)
        widths = list(widths or [1] * n_cols)
        total = sum(widths)
        tbl = etree.Element(w("tbl"), nsmap={"w": W_NS})
        tblpr = etree.SubElement(tbl, w("tblPr"))
        etree.SubElement(tblpr, w("tblStyle")).set(VAL, self.style_id(style))
        tw = etree.SubElement(tblpr, w("tblW"))
        tw.set(w("w"), "5000")
        tw.set(w("type"), "pct")
        etree.SubElement(tblpr, w("tblLayout")).set(w("type"), "fixed")
        look = etree.SubElement(tblpr, w("tblLook"))
        look.set(w("firstRow"), "1")
        look.set(w("firstColumn"), "1")
        look.set(w("noHBand"), "0")
        look.set(w("noVBand"), "1")
        look.set(VAL, "04A0")
        grid = etree.SubElement(tbl, w("tblGrid"))
        text_width = self._text_width()
        for width in widths:
            etree.SubElement(grid, w("gridCol")).set(w("w"), str(text_width * width // total))
        for i, row in enumerate(rows):
            tr = etree.SubElement(tbl, w("tr"))
            if i < header_rows:
                trpr = etree.SubElement(tr, w("trPr"))
                etree.SubElement(trpr, w("tblHeader"))
                etree.SubElement(trpr, w("cantSplit"))
            for j in range(n_cols):
                tc = etree.SubElement(tr, w("tc"))
                tcpr = etree.SubElement(tc, w("tcPr"))
                tcw = etree.SubElement(tcpr, w("tcW"))
                tcw.set(w("w"), str(5000 * widths[j] // total))
                tcw.set(w("type"), "pct")
                content = row[j] if j < len(row) else ""
                runs = list(as_runs(content))
                if i < header_rows:
                    runs = [Run(r.text, bold=True, italic=r.italic, muted=r.muted) for r in runs]
                # A cell's text may hold blank lines: one paragraph per block keeps Word's spacing.
                self.paragraph(runs, cell_style, parent=tc)
        self._emit_element(tbl)
        # Word needs a paragraph between a table and whatever follows (another table, a break).
        self._emit("<w:p/>")

    def _text_width(self) -> int:
        pg = self._sect_pr.find(w("pgSz"))
        mar = self._sect_pr.find(w("pgMar"))
        try:
            width = int(pg.get(w("w")))
            if pg.get(w("orient")) == "landscape":
                width = max(width, int(pg.get(w("h"))))
            return width - int(mar.get(w("left"))) - int(mar.get(w("right")))
        except (AttributeError, TypeError, ValueError):
            return 9000

    # --- sections -------------------------------------------------------------------------

    @staticmethod
    def _a4(sect_pr: Element) -> None:
        pg = sect_pr.find(w("pgSz"))
        if pg is None:
            pg = etree.Element(w("pgSz"))
            sect_pr.insert(0, pg)
        pg.set(w("w"), A4["w"])
        pg.set(w("h"), A4["h"])
        mar = sect_pr.find(w("pgMar"))
        if mar is not None:
            for side in ("top", "right", "bottom", "left"):
                mar.set(w(side), A4_MARGIN)

    def section_break(self, *, landscape: bool) -> None:
        """End the current section here; the next one is landscape or portrait.

        In WordprocessingML a section's properties sit on its last paragraph, and the body's own
        ``w:sectPr`` describes the last section: so the section that ends here gets a copy of the
        body's properties in the orientation it had, and the body's properties turn.
        """
        ending = copy.deepcopy(self._sect_pr)
        p = etree.Element(P, nsmap={"w": W_NS})
        etree.SubElement(p, PPR).append(ending)
        self._emit_element(p)
        self._orient(self._sect_pr, landscape)

    @staticmethod
    def _orient(sect_pr: Element, landscape: bool) -> None:
        pg = sect_pr.find(w("pgSz"))
        if pg is None:
            return
        a, b = int(pg.get(w("w"))), int(pg.get(w("h")))
        short, long_ = min(a, b), max(a, b)
        if landscape:
            pg.set(w("w"), str(long_))
            pg.set(w("h"), str(short))
            pg.set(w("orient"), "landscape")
        else:
            pg.set(w("w"), str(short))
            pg.set(w("h"), str(long_))
            pg.attrib.pop(w("orient"), None)

    # --- saving ---------------------------------------------------------------------------

    def set_language(self, tag: str) -> None:
        """The proofing language of text without its own (so Word spell-checks in Norwegian)."""
        root = self.document.styles.element
        defaults = root.find(w("docDefaults"))
        if defaults is None:
            return
        rpr = defaults.find(f"{w('rPrDefault')}/{w('rPr')}")
        if rpr is None:
            return
        lang = rpr.find(w("lang"))
        if lang is None:
            lang = etree.SubElement(rpr, w("lang"))
        lang.set(VAL, tag)

    def _update_fields_on_open(self) -> None:
        settings = self.document.settings.element
        if settings.find(w("updateFields")) is not None:
            return
        el = etree.Element(w("updateFields"))
        el.set(VAL, "true")
        settings.insert_element_before(el, *UPDATE_FIELDS_SUCCESSORS)

    def set_properties(self, *, title: str, author: str, language: str, when: dt.datetime) -> None:
        """The package's core properties (python-docx's template says "python-docx")."""
        props = self.document.core_properties
        props.title = clean_text(title)[:255]
        props.author = props.last_modified_by = clean_text(author)[:255]
        props.comments = props.subject = props.keywords = props.category = ""
        props.language = language
        if when.tzinfo is not None:  # core.xml holds UTC
            when = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
        props.created = props.modified = when
        props.revision = 1

    def save(self, fh: BinaryIO) -> None:
        """Write the package to ``fh``: python-docx saves it around an empty body (a marker
        and the final ``w:sectPr``), and the copy into ``fh`` pours the streamed body, with the
        held elements at their places, into the main document part at the marker."""
        self._flush()
        self.body.append(etree.Comment(_BODY_MARK))
        self.body.append(self._sect_pr)
        self._update_fields_on_open()
        package = io.BytesIO()
        self.document.save(package)
        main = self.document.part.partname.lstrip("/")
        mark = f"<!--{_BODY_MARK}-->".encode()
        with zipfile.ZipFile(package) as src, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                data = src.read(info)
                if info.filename != main:
                    dst.writestr(info, data)
                    continue
                before, after = data.split(mark, 1)
                part = zipfile.ZipInfo(main, date_time=info.date_time)
                part.compress_type = zipfile.ZIP_DEFLATED
                with dst.open(part, "w") as out:
                    out.write(before)
                    self._write_body(out)
                    out.write(after)
        self._stream.close()

    def _write_body(self, out: IO[bytes]) -> None:
        stream, done = self._stream, 0
        for offset, elements in self._held:
            stream.seek(done)
            _copy(stream, out, offset - done)
            for el in elements:
                xml = etree.tostring(el, encoding="unicode")
                out.write((xml.replace(W_DECL, "", 1) if not self._decl else xml).encode())
            done = offset
        stream.seek(done)
        shutil.copyfileobj(stream, out, 1 << 20)


def _copy(src: IO[bytes], dst: IO[bytes], n: int) -> None:
    while n > 0:
        chunk = src.read(min(n, 1 << 20))
        if not chunk:
            break
        dst.write(chunk)
        n -= len(chunk)


class TocField:
    """The open TOC field: headings are added as its cached result, then it is closed."""

    def __init__(
        self, writer: DocxWriter, held: list[Element], placeholder: str, levels: int
    ) -> None:
        self.writer = writer
        self.held = held  # the field's paragraphs, at their place in the body
        self.first_p = held[0]
        self.placeholder = placeholder
        self.levels = levels

    def fill(self, entries: Sequence[tuple[int, str]]) -> None:
        """Write ``(level, text)`` entries into the field result and close the field."""
        writer = self.writer
        entries = [(level, text) for level, text in entries if level <= self.levels]
        last = self.first_p
        if not entries:
            writer._run(self.first_p, Run(self.placeholder, italic=True, muted=True))
        for n, (level, text) in enumerate(entries):
            style = writer.style_id(f"toc {level}")
            if n == 0:
                p = self.first_p
                p.insert(0, parse_xml(paragraph_xml((), style))[0])  # its w:pPr
                writer._run(p, Run(text))
            else:
                p = parse_xml(paragraph_xml([Run(text)], style))
                self.held.append(p)
            last = p
        writer._field_char(last, "end")
