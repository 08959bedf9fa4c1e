"""Transcript import: plain functions over file objects, testable without a request or broker.

``read_document`` checks the bytes (content, not the file name) and returns paragraphs;
``detect_speakers`` proposes speaker labels; ``build_turns`` lays turns over the stored text.
Every error is a ``ValidationError`` whose message names the file and the problem.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from typing import BinaryIO

from defusedxml import ElementTree as SafeET
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .nlp import normalize_text

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


def _fail(name: str, message: str, code: str) -> ValidationError:
    return ValidationError(
        _("%(file)s: %(problem)s"), code=code, params={"file": name, "problem": message}
    )


def sniff_format(head: bytes) -> str:
    """'zip', 'ole', 'pdf', 'exe' or 'text' from the first bytes."""
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head.startswith(OLE_MAGIC):
        return "ole"
    if head.startswith(PDF_MAGIC):
        return "pdf"
    if head.startswith(EXE_MAGIC) or head.startswith(ELF_MAGIC):
        return "exe"
    return "text"


def read_document(fh: BinaryIO, name: str) -> ParsedDocument:
    """Validate and parse an uploaded transcript. Raises ValidationError naming the file."""
    data = fh.read(settings.UPLOAD_MAX_BYTES + 1)
    if len(data) > settings.UPLOAD_MAX_BYTES:
        limit_mb = settings.UPLOAD_MAX_BYTES // (1024 * 1024)
        raise _fail(name, _("the file is larger than %(mb)s MB.") % {"mb": limit_mb}, "too_big")
    if not data.strip():
        raise _fail(name, _("the file is empty."), "empty")
    kind = sniff_format(data[:8])
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
    return ParsedDocument(name=name, fmt="txt", **_read_text(data, name))


def parse_pasted(text: str, name: str = "") -> ParsedDocument:
    name = name or _("pasted text")
    text = normalize_text(text)
    if not text.strip():
        raise _fail(name, _("the text is empty."), "empty")
    return ParsedDocument(name=name, fmt="paste", paragraphs=_lines(text))


def _lines(text: str) -> list[Paragraph]:
    return [Paragraph(line.strip()) for line in text.split("\n") if line.strip()]


def _read_text(data: bytes, name: str) -> dict:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8-sig", "cp1252"]
    for enc in candidates:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if _looks_binary(text):
            break
        text = normalize_text(text)
        if not text.strip():
            raise _fail(name, _("the file is empty."), "empty")
        return {"paragraphs": _lines(text), "encoding": enc}
    raise _fail(
        name,
        _("the file is not text in UTF-8, UTF-16 or Windows-1252 (it may be a binary file)."),
        "bad_encoding",
    )


def _looks_binary(text: str) -> bool:
    sample = text[:20000]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f\x0b")
    return "\x00" in sample or controls > max(3, len(sample) // 200)


def _check_zip(zf: zipfile.ZipFile, name: str) -> None:
    total = 0
    for info in zf.infolist():
        total += info.file_size
        ratio = info.file_size / max(1, info.compress_size)
        if total > settings.UPLOAD_MAX_UNPACKED_BYTES or (
            info.file_size > 1_000_000 and ratio > MAX_COMPRESSION_RATIO
        ):
            raise _fail(
                name,
                _("the file unpacks to far more data than a document holds (a zip bomb?)."),
                "zip_bomb",
            )
        if info.flag_bits & 0x1:
            raise _fail(name, _("the file is encrypted."), "encrypted_or_doc")


def _read_zip(data: bytes, name: str) -> ParsedDocument:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _fail(
            name, _("the file is damaged (not a readable .docx or .odt)."), "corrupt"
        ) from exc
    _check_zip(zf, name)
    if "word/document.xml" in names:
        if "word/vbaProject.bin" in names or any(n.endswith("vbaProject.bin") for n in names):
            raise _fail(
                name,
                _("the document contains macros. Save it as a plain .docx without macros."),
                "macros",
            )
        if _declares_entities(zf, "word/document.xml"):
            raise _fail(name, _("the Word file is damaged and cannot be read."), "corrupt")
        return _read_docx(data, name)
    if "mimetype" in names:
        try:
            mimetype = zf.read("mimetype").strip()
        except (zipfile.BadZipFile, OSError, KeyError) as exc:
            raise _fail(name, _("the file is damaged."), "corrupt") from exc
        if mimetype == ODT_MIME:
            return _read_odt(zf, name)
    raise _fail(name, _("this zip file is not a .docx or .odt document."), "wrong_type")


def _declares_entities(zf: zipfile.ZipFile, part: str) -> bool:
    """Word never writes a DOCTYPE; one in a part means entities (billion laughs, XXE)."""
    try:
        with zf.open(part) as fh:
            head = fh.read(8192)
    except (KeyError, zipfile.BadZipFile, OSError, RuntimeError):
        return False  # reading the document reports the damage
    return b"<!DOCTYPE" in head or b"<!ENTITY" in head


def _read_docx(data: bytes, name: str) -> ParsedDocument:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph as DocxParagraph

    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(document.iter_inner_content())
    except Exception as exc:  # python-docx raises many types for broken parts
        raise _fail(name, _("the Word file is damaged and cannot be read."), "corrupt") from exc
    paragraphs: list[Paragraph] = []
    for block in blocks:
        if isinstance(block, DocxParagraph):
            paragraphs.extend(_docx_paragraph(block))
        elif isinstance(block, Table):
            paragraphs.extend(_docx_table(block))
    if not any(p.text.strip() for p in paragraphs):
        raise _fail(name, _("the document has no text."), "empty")
    return ParsedDocument(name=name, fmt="docx", paragraphs=paragraphs)


def _docx_paragraph(par) -> list[Paragraph]:
    text = normalize_text(par.text)
    if not text.strip():
        return []
    bold = []
    for run in par.runs:
        if not run.text:
            continue
        if run.bold:
            bold.append(run.text)
        else:
            break
    label = "".join(bold).strip().rstrip(":").strip()
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    out = [Paragraph(lines[0], bold_label=label if _plausible_label(label) else None)]
    out.extend(Paragraph(line) for line in lines[1:])
    return out


def _docx_table(table) -> list[Paragraph]:
    """A table laid out as speaker | text becomes "speaker: text" paragraphs."""
    out: list[Paragraph] = []
    for row in table.rows:
        cells = []
        for cell in row.cells:
            t = normalize_text(cell.text).strip()
            if t and (not cells or cells[-1] != t):  # merged cells repeat their text
                cells.append(t)
        if not cells:
            continue
        if len(cells) >= 2 and _plausible_label(cells[0].rstrip(":")):
            label = cells[0].rstrip(":").strip()
            rest = " ".join(c.replace("\n", " ") for c in cells[1:])
            out.append(Paragraph(f"{label}: {rest}", bold_label=label))
        else:
            out.extend(_lines(" ".join(cells)))
    return out


ODF_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
ODF_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
ODF_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"


def _odf_text(el) -> str:
    parts = [el.text or ""]
    for child in el:
        tag = child.tag
        if tag == f"{{{ODF_TEXT}}}s":
            parts.append(" " * int(child.get(f"{{{ODF_TEXT}}}c", "1")))
        elif tag == f"{{{ODF_TEXT}}}tab":
            parts.append("\t")
        elif tag == f"{{{ODF_TEXT}}}line-break":
            parts.append("\n")
        elif tag == f"{{{ODF_TEXT}}}note":
            pass  # footnotes are not part of the spoken text
        else:
            parts.append(_odf_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _read_odt(zf: zipfile.ZipFile, name: str) -> ParsedDocument:
    try:
        root = SafeET.fromstring(zf.read("content.xml"))
    except Exception as exc:  # defusedxml raises its own types for hostile XML
        raise _fail(name, _("the OpenDocument file is damaged."), "corrupt") from exc
    body = root.find(f"{{{ODF_OFFICE}}}body/{{{ODF_OFFICE}}}text")
    if body is None:
        raise _fail(name, _("the OpenDocument file has no text body."), "corrupt")
    paragraphs: list[Paragraph] = []

    def walk(el) -> None:
        for child in el:
            if child.tag in (f"{{{ODF_TEXT}}}p", f"{{{ODF_TEXT}}}h"):
                paragraphs.extend(_lines(normalize_text(_odf_text(child))))
            elif child.tag == f"{{{ODF_TABLE}}}table-row":
                cells = [
                    normalize_text(_odf_text(p)).strip()
                    for cell in child
                    for p in cell.iter(f"{{{ODF_TEXT}}}p")
                ]
                cells = [c for c in cells if c]
                if len(cells) >= 2 and _plausible_label(cells[0].rstrip(":")):
                    label = cells[0].rstrip(":").strip()
                    paragraphs.append(Paragraph(f"{label}: {' '.join(cells[1:])}", label))
                elif cells:
                    paragraphs.extend(_lines(" ".join(cells)))
            else:
                walk(child)

    walk(body)
    if not paragraphs:
        raise _fail(name, _("the document has no text."), "empty")
    return ParsedDocument(name=name, fmt="odt", paragraphs=paragraphs)


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


def check_zip(zf: zipfile.ZipFile, name: str) -> None:
    """The zip-bomb, size and encryption checks of transcript uploads, for other zip formats
    (coding.exchange reads .qdpx files through it)."""
    _check_zip(zf, name)


def fail(name: str, message: str, code: str) -> ValidationError:
    """A ValidationError naming the file, as every import error does."""
    return _fail(name, message, code)
