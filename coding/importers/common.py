"""What every import format shares: the parsed document, its limits, errors that name the file,
and the streamed XML reader with its bounds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


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


def _fail(name: str, message: str, code: str) -> ValidationError:
    return ValidationError(
        _("%(file)s: %(problem)s"), code=code, params={"file": name, "problem": message}
    )


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


# An lxml element (lxml.etree._Element); lxml ships no type information.
Element = Any


def _iterparse(fh: IO[bytes], name: str) -> Iterator[tuple[str, Element]]:
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


def _drop(el: Element) -> None:
    """Free a handled element and the handled siblings before it (iterparse keeps them)."""
    el.clear()
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


def fail(name: str, message: str, code: str) -> ValidationError:
    """A ValidationError naming the file, as every import error does."""
    return _fail(name, message, code)
