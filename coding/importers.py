"""Transcript import: plain functions over file objects, testable without a request or broker.

``read_document`` checks the bytes (content, not the file name) and returns paragraphs;
``detect_speakers`` proposes speaker labels; ``build_turns`` lays turns over the stored text.
Every error is a ``ValidationError`` whose message names the file and the problem.
"""

from __future__ import annotations

import copy
import io
import json
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from typing import BinaryIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from coding.nlp import normalize_text

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .doc, or an encrypted (password) .docx
PDF_MAGIC = b"%PDF"
EXE_MAGIC = b"MZ"
ELF_MAGIC = b"\x7fELF"
ODT_MIME = b"application/vnd.oasis.opendocument.text"
MAX_COMPRESSION_RATIO = 150
MAX_LABEL_CHARS = 40
MAX_LABEL_WORDS = 4

# "I:", "IP2:", "Intervjuer:", "Informant 2:", "Astrid Lunde:", "NAV-leder:", "Beboer (B):"
LABEL_RE = re.compile(r"^(?P<label>[^\W\d_][\w .'’()\-/]{0,%d}?)\s*:\s+(?=\S)" % MAX_LABEL_CHARS)
KNOWN_LABEL_RE = re.compile(
    r"^(i|ip\d*|int|intervjuer\s*\d*|informant\s*\d*|interviewer\s*\d*|respondent\s*\d*)$",
    re.IGNORECASE,
)
INTERVIEWER_RE = re.compile(r"^(i|int|intervjuer\s*\d*|interviewer\s*\d*)$", re.IGNORECASE)


@dataclass
class Paragraph:
    text: str
    # A speaker label set in bold at the start of a Word paragraph, without its colon.
    bold_label: str | None = None


@dataclass
class ParsedDocument:
    name: str
    fmt: str  # "docx", "odt", "txt", "paste"
    paragraphs: list[Paragraph] = field(default_factory=list)
    encoding: str | None = None
    # Bytes that were not valid UTF-8 in a file that otherwise is: it was read as Windows-1252,
    # and the preview says so and offers UTF-8 instead.
    bad_utf8_bytes: int = 0


# Encodings a researcher may choose for a text file in the preview.
TEXT_ENCODINGS = ("utf-8", "cp1252")


@dataclass
class ParsedPreview:
    """What the import's parse stage keeps on the job: the document and what the preview shows."""

    doc: ParsedDocument
    labels: list[tuple[str, int]]
    shares: dict[str, float]
    header: dict

    @classmethod
    def of(cls, doc: ParsedDocument) -> ParsedPreview:
        labels = detect_speakers(doc)
        return cls(
            doc=doc,
            labels=labels,
            shares=question_shares(doc, {label for label, _n in labels}),
            header=header_metadata(doc),
        )

    def to_json(self) -> str:
        header = dict(self.header)
        if header.get("interview_date"):
            header["interview_date"] = header["interview_date"].isoformat()
        d = self.doc
        return json.dumps(
            {
                "name": d.name,
                "fmt": d.fmt,
                "encoding": d.encoding,
                "bad_utf8_bytes": d.bad_utf8_bytes,
                "paragraphs": [[p.text, p.bold_label] for p in d.paragraphs],
                "labels": self.labels,
                "shares": self.shares,
                "header": header,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, raw: str) -> ParsedPreview:
        import datetime as dt

        data = json.loads(raw)
        doc = ParsedDocument(
            name=data["name"],
            fmt=data["fmt"],
            paragraphs=[Paragraph(t, b) for t, b in data["paragraphs"]],
            encoding=data.get("encoding"),
            bad_utf8_bytes=data.get("bad_utf8_bytes", 0),
        )
        header = data.get("header", {})
        if header.get("interview_date"):
            header["interview_date"] = dt.date.fromisoformat(header["interview_date"])
        return cls(
            doc=doc,
            labels=[(label, n) for label, n in data["labels"]],
            shares=data["shares"],
            header=header,
        )


def _fail(name: str, message: str, code: str) -> ValidationError:
    return ValidationError(
        _("%(file)s: %(problem)s"), code=code, params={"file": name, "problem": message}
    )


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


def read_document(fh: BinaryIO, name: str, *, encoding: str | None = None) -> ParsedDocument:
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


def parse_pasted(text: str, name: str = "") -> ParsedDocument:
    name = name or _("pasted text")
    text = normalize_text(text)
    if not text.strip():
        raise _fail(name, _("the text is empty."), "empty")
    return ParsedDocument(name=name, fmt="paste", paragraphs=_lines(text, name))


def _lines(text: str, name: str) -> list[Paragraph]:
    out = _Collector(name)
    out.add_lines(text)
    return out.paragraphs


def _read_text(data: bytes, name: str, chosen: str | None = None) -> dict:
    errors = "strict"
    if chosen in TEXT_ENCODINGS:
        candidates = ["utf-8-sig" if chosen == "utf-8" else chosen]
        errors = "replace"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8-sig", "cp1252"]
    bad_utf8 = 0
    for enc in candidates:
        try:
            text = data.decode(enc, errors)
        except UnicodeDecodeError:
            if enc == "utf-8-sig":
                # Mostly UTF-8 with a few broken bytes (a cut copy, one stray byte) is not the
                # same as a Windows-1252 file: count them, so the preview can say so.
                bad = data.decode("utf-8", "replace").count("\ufffd")
                non_ascii = sum(1 for b in data[:1_000_000] if b >= 0x80)
                if bad and non_ascii > 2 * bad:
                    bad_utf8 = bad
            continue
        if _looks_binary(text):
            break
        text = normalize_text(text)
        if not text.strip():
            raise _fail(name, _("the file is empty."), "empty")
        return {
            "paragraphs": _lines(text, name),
            "encoding": enc,
            "bad_utf8_bytes": bad_utf8 if enc == "cp1252" else 0,
        }
    raise _fail(
        name,
        _("the file is not text in UTF-8, UTF-16 or Windows-1252 (it may be a binary file)."),
        "bad_encoding",
    )


def _looks_binary(text: str) -> bool:
    sample = text[:20000]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f\x0b")
    return "\x00" in sample or controls > max(3, len(sample) // 200)


# --- zip containers: real limits on what is decompressed -----------------------------------

_ZIP_CHUNK = 64 * 1024
_DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")


class SafeZip:
    """A zip whose every member was decompressed once, within limits, and found as declared.

    Made by ``open_zip_safely``. ``zipfile`` trusts the central directory's sizes; a file that
    lies about them passes any check of the directory. Here each member is streamed and its
    real size counted (and CRC checked), so later reads are bounded by what was counted.
    ``declares_dtd`` names the XML members with a DOCTYPE or ENTITY anywhere in them.
    """

    def __init__(
        self, zf: zipfile.ZipFile, name: str, declares_dtd: set[str], sizes: dict[str, int]
    ) -> None:
        self.zf = zf
        self.name = name
        self.names = set(zf.namelist())
        self.declares_dtd = declares_dtd
        self.sizes = sizes  # member name -> bytes really decompressed

    def xml_bytes(self) -> int:
        """Unpacked bytes of the XML parts: what a DOM parser (python-docx) holds in memory."""
        return sum(n for part, n in self.sizes.items() if _is_xml(part))

    def open(self, part: str) -> BinaryIO:
        try:
            return self.zf.open(part)
        except (KeyError, zipfile.BadZipFile, OSError, RuntimeError) as exc:
            raise _fail(self.name, _("the file is damaged."), "corrupt") from exc

    def read(self, part: str) -> bytes:
        with self.open(part) as fh:
            return fh.read()


def _zip_bomb(name: str) -> ValidationError:
    return _fail(
        name,
        _("the file unpacks to far more data than a document holds (a zip bomb?)."),
        "zip_bomb",
    )


def open_zip_safely(data: bytes, name: str, *, max_unpacked: int | None = None) -> SafeZip:
    """Open a zip upload (.docx, .odt, .dotx, .qdpx …) with real decompression limits.

    Refuses (ValidationError naming the file) a damaged or encrypted zip, a member whose
    compression ratio or declared size is implausible, a total beyond ``max_unpacked``
    (default ``UPLOAD_MAX_UNPACKED_BYTES``) counted on the bytes actually decompressed, and a
    member whose real size differs from its directory entry. Memory stays at one chunk.
    """
    limit = settings.UPLOAD_MAX_UNPACKED_BYTES if max_unpacked is None else max_unpacked
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise _fail(
            name, _("the file is damaged (not a readable .docx or .odt)."), "corrupt"
        ) from exc
    declared = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise _fail(name, _("the file is encrypted."), "encrypted_or_doc")
        declared += info.file_size
        ratio = info.file_size / max(1, info.compress_size)
        if declared > limit or (info.file_size > 1_000_000 and ratio > MAX_COMPRESSION_RATIO):
            raise _zip_bomb(name)
    total = 0
    declares_dtd: set[str] = set()
    sizes: dict[str, int] = {}
    for info in infos:
        if info.is_dir():
            continue
        is_xml = _is_xml(info.filename)
        seen = 0
        tail = b""
        # zipfile stops at the declared size (then fails on the CRC); read as if the size were
        # unbounded so the real size is counted, and a lie is named as what it is.
        probe = copy.copy(info)
        probe.file_size = limit + 1
        try:
            with zf.open(probe) as fh:
                while chunk := fh.read(_ZIP_CHUNK):
                    seen += len(chunk)
                    total += len(chunk)
                    if seen > info.file_size or total > limit:
                        raise _zip_bomb(name)
                    if is_xml and info.filename not in declares_dtd:
                        window = tail + chunk
                        if any(m in window for m in _DTD_MARKERS):
                            declares_dtd.add(info.filename)
                        tail = window[-16:]
        except ValidationError:
            raise
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError) as exc:
            # zlib errors, a bad CRC, an unsupported compression method, a truncated member
            raise _fail(
                name, _("the file is damaged (not a readable .docx or .odt)."), "corrupt"
            ) from exc
        if seen != info.file_size:
            raise _zip_bomb(name)
        sizes[info.filename] = seen
    return SafeZip(zf, name, declares_dtd, sizes)


def _is_xml(part: str) -> bool:
    return part.endswith((".xml", ".rels")) or "." not in part.rsplit("/", 1)[-1]


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


# --- limits on what one transcript may hold -------------------------------------------------

# A two-hour interview has a few hundred paragraphs and ~100,000 characters; these bounds are
# far above any transcript and keep an import's memory, time and write transaction bounded.
MAX_PARAGRAPHS = 20_000
MAX_TEXT_CHARS = 1_500_000
MAX_PARAGRAPH_CHARS = 100_000
MAX_XML_DEPTH = 100
MAX_XML_ELEMENTS = 3_000_000
MAX_SPACE_RUN = 100  # <text:s text:c="N"/>: more spaces than this in a row are kept as this many


class _Collector:
    """Gathers paragraphs and refuses, as soon as it is crossed, any limit above."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.paragraphs: list[Paragraph] = []
        self.chars = 0

    def add(self, par: Paragraph) -> None:
        if len(par.text) > MAX_PARAGRAPH_CHARS:
            raise _fail(
                self.name,
                _(
                    "paragraph %(n)s has more than %(max)s characters. Break it into "
                    "paragraphs and upload again."
                )
                % {"n": len(self.paragraphs) + 1, "max": f"{MAX_PARAGRAPH_CHARS:,}"},
                "paragraph_too_long",
            )
        self.chars += len(par.text)
        if len(self.paragraphs) >= MAX_PARAGRAPHS:
            raise _fail(
                self.name,
                _(
                    "the file has more than %(max)s paragraphs, far more than a transcript. "
                    "Split it into several files or join its short lines."
                )
                % {"max": f"{MAX_PARAGRAPHS:,}"},
                "too_many_paragraphs",
            )
        if self.chars > MAX_TEXT_CHARS:
            raise _fail(
                self.name,
                _("the text is longer than %(max)s characters. Split it into several files.")
                % {"max": f"{MAX_TEXT_CHARS:,}"},
                "text_too_long",
            )
        self.paragraphs.append(par)

    def add_lines(self, text: str, bold_label: str | None = None) -> None:
        first = True
        for line in text.split("\n"):
            line = line.strip()
            if line:
                self.add(Paragraph(line, bold_label=bold_label if first else None))
                first = False


def _iterparse(fh: BinaryIO, name: str):
    """(event, element) over an XML stream: no entities, no network, a bounded depth."""
    from lxml import etree

    depth = 0
    elements = 0
    context = etree.iterparse(
        fh, events=("start", "end"), resolve_entities=False, no_network=True, huge_tree=False
    )
    try:
        for event, el in context:
            if event == "start":
                depth += 1
                elements += 1
                if depth > MAX_XML_DEPTH:
                    raise _fail(
                        name,
                        _("the document nests more than %(max)s levels deep and cannot be read.")
                        % {"max": MAX_XML_DEPTH},
                        "too_deep",
                    )
                if elements > MAX_XML_ELEMENTS:
                    raise _fail(
                        name,
                        _("the document has far too many parts to be a transcript."),
                        "too_big",
                    )
            else:
                depth -= 1
            yield event, el
    except etree.XMLSyntaxError as exc:
        raise _fail(name, _("the document is damaged and cannot be read."), "corrupt") from exc


def _drop(el) -> None:
    """Free a handled element and the handled siblings before it (iterparse keeps them)."""
    el.clear()
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


# --- .docx: streamed from word/document.xml --------------------------------------------------

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_W_CONTAINERS = {
    f"{W}{t}" for t in ("hyperlink", "ins", "smartTag", "sdt", "sdtContent", "fldSimple")
}
_W_FALSE = {"0", "false", "off"}


def _w_run(run, parts: list[str]) -> bool | None:
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
        elif tag == f"{W}cr":
            parts.append("\n")
        elif tag == f"{W}noBreakHyphen":
            parts.append("-")
    return bold


def _w_paragraph(p) -> tuple[str, str | None]:
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


def _table_row(out: _Collector, cells: list[str]) -> None:
    """A table laid out as speaker | text becomes "speaker: text" paragraphs."""
    if not cells:
        return
    if len(cells) >= 2 and _plausible_label(cells[0].rstrip(":")):
        label = cells[0].rstrip(":").strip()
        rest = " ".join(c.replace("\n", " ") for c in cells[1:])
        out.add(Paragraph(f"{label}: {rest}", bold_label=label))
    else:
        out.add_lines(" ".join(cells))


# --- .odt: streamed from content.xml ---------------------------------------------------------

ODF_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
ODF_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
ODF_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_T = f"{{{ODF_TEXT}}}"
_ODF_PARAS = (f"{_T}p", f"{_T}h")


def _odf_text(el, name: str) -> str:
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


def _plausible_label(label: str) -> bool:
    return (
        0 < len(label) <= MAX_LABEL_CHARS
        and len(label.split()) <= MAX_LABEL_WORDS
        and label[0].isalpha()
    )


def label_of(par: Paragraph) -> str | None:
    """The speaker label a paragraph starts with, if it has the shape of one."""
    if par.bold_label:
        return par.bold_label
    m = LABEL_RE.match(par.text)
    if m and _plausible_label(m.group("label").strip()):
        return m.group("label").strip()
    return None


def detect_speakers(doc: ParsedDocument) -> list[tuple[str, int]]:
    """Labels that mark speaker turns, with how many turns each starts, most frequent first.

    A label counts when it is in bold, has a known shape (I, IP, Intervjuer, Informant 2), or
    starts at least two paragraphs; one-off "Kommune: Drammen" lines stay text.
    """
    counts: Counter[str] = Counter()
    bold: set[str] = set()
    for par in doc.paragraphs:
        label = label_of(par)
        if label:
            counts[label] += 1
            if par.bold_label:
                bold.add(label)
    accepted = [
        (label, n)
        for label, n in counts.items()
        if n >= 2 or label in bold or KNOWN_LABEL_RE.match(label)
    ]
    return sorted(accepted, key=lambda x: (-x[1], x[0]))


def guess_interviewer(label: str, question_share: float = 0.0) -> bool:
    """Interviewer by name ("I", "Intervjuer") or by asking: most of the label's turns hold a
    question mark."""
    return bool(INTERVIEWER_RE.match(label)) or question_share >= 0.5


def question_shares(doc: ParsedDocument, labels: set[str]) -> dict[str, float]:
    """Share of each label's paragraphs that contain a question mark."""
    asked: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for par in doc.paragraphs:
        label = label_of(par)
        if label in labels:
            total[label] += 1
            asked[label] += "?" in par.text
    return {label: asked[label] / total[label] for label in total}


@dataclass(frozen=True)
class TurnSpan:
    start: int
    content_start: int
    end: int
    label: str


def build_text_and_turns(
    doc: ParsedDocument, speaker_labels: set[str]
) -> tuple[str, list[TurnSpan]]:
    """The stored text (paragraphs separated by a blank line) and its speaker turns.

    A turn runs from a paragraph that starts with one of ``speaker_labels`` to the next such
    paragraph; paragraphs before the first label form an unlabelled turn.
    """
    parts: list[str] = []
    turns: list[TurnSpan] = []
    pos = 0
    current: list | None = None  # [start, content_start, end, label]
    for par in doc.paragraphs:
        text = par.text.strip()
        if not text:
            continue
        if parts:
            pos += 2  # the "\n\n" between paragraphs
        label = label_of(par)
        if label in speaker_labels:
            if current:
                turns.append(TurnSpan(*current))
            content_offset = _content_offset(text, label)
            current = [pos, pos + content_offset, pos + len(text), label]
        elif current is None:
            current = [pos, pos, pos + len(text), ""]
        else:
            current[2] = pos + len(text)
        parts.append(text)
        pos += len(text)
    if current:
        turns.append(TurnSpan(*current))
    return "\n\n".join(parts), turns


def _content_offset(text: str, label: str) -> int:
    """Where the spoken words start after a label ("IP: ", or a bold name without a colon)."""
    i = len(label) if text.startswith(label) else 0
    while i < len(text) and text[i] in " \t:":
        i += 1
    return min(i, len(text))


_MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("januar", "january", "jan"),
            ("februar", "february", "feb"),
            ("mars", "march", "mar"),
            ("april", "apr"),
            ("mai", "may"),
            ("juni", "june", "jun"),
            ("juli", "july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("oktober", "october", "okt", "oct"),
            ("november", "nov"),
            ("desember", "december", "des", "dec"),
        ),
        start=1,
    )
    for m in names
}
_DATE_RES = (
    re.compile(r"\b(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>(?:19|20)\d\d)\b"),
    re.compile(r"\b(?P<y>(?:19|20)\d\d)-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b"),
    re.compile(r"\b(?P<d>\d{1,2})\.?\s+(?P<mon>[a-zæøå]{3,9})\.?\s+(?P<y>(?:19|20)\d\d)\b", re.I),
)
_MODE_RES = (
    ("phone", re.compile(r"\b(telefon\w*|phone|telephone)\b", re.I)),
    ("video", re.compile(r"\b(video\w*|teams|zoom|skype)\b", re.I)),
    ("in_person", re.compile(r"\b(ansikt til ansikt|fysisk\w*|in person|face to face)\b", re.I)),
    ("fieldwork", re.compile(r"\b(feltarbeid|fieldwork|field work)\b", re.I)),
)
HEADER_LINES = 8


def header_metadata(doc: ParsedDocument) -> dict:
    """Interview date (ISO) and mode read from the header lines before the first turn
    ("Intervju 12.03.2019, telefon", "Dato: 2019-03-12 · Teams"), for the preview's fields."""
    import datetime as dt

    found: dict = {}
    for par in doc.paragraphs[:HEADER_LINES]:
        label = label_of(par)
        if label and KNOWN_LABEL_RE.match(label):
            break  # the interview has started
        text = par.text[:500]
        if "interview_date" not in found:
            for rx in _DATE_RES:
                m = rx.search(text)
                if not m:
                    continue
                month = (
                    int(m.group("m"))
                    if "m" in rx.groupindex
                    else _MONTHS.get(m.group("mon").lower())
                )
                try:
                    day = dt.date(int(m.group("y")), month or 0, int(m.group("d")))
                except (ValueError, TypeError):
                    continue
                found["interview_date"] = day
                break
        if "mode" not in found:
            for mode, rx in _MODE_RES:
                if rx.search(text):
                    found["mode"] = mode
                    break
    return found


def fail(name: str, message: str, code: str) -> ValidationError:
    """A ValidationError naming the file, as every import error does."""
    return _fail(name, message, code)
