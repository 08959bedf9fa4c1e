"""Speaker labels: which paragraphs start with one, who is likely the interviewer, and the
turns laid over the stored text.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from coding.importers.common import Paragraph, ParsedDocument, _Collector

MAX_LABEL_CHARS = 40
MAX_LABEL_WORDS = 4

# "I:", "IP2:", "Intervjuer:", "Informant 2:", "Astrid Lunde:", "NAV-leder:", "Beboer (B):"
LABEL_RE = re.compile(r"^(?P<label>[^\W\d_][\w .'’()\-/]{0,%d}?)\s*:\s+(?=\S)" % MAX_LABEL_CHARS)
KNOWN_LABEL_RE = re.compile(
    r"^(i|ip\d*|int|intervjuer\s*\d*|informant\s*\d*|interviewer\s*\d*|respondent\s*\d*)$",
    re.IGNORECASE,
)
INTERVIEWER_RE = re.compile(r"^(i|int|intervjuer\s*\d*|interviewer\s*\d*)$", re.IGNORECASE)


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


# A header is at most this many paragraphs (the import preview shows as many to choose from).
MAX_HEADER_LINES = 40
_METADATA_WORDS = 6
_SENTENCE_END = re.compile(r"[.?!…]\s*$")


def header_paragraphs(
    doc: ParsedDocument, speaker_labels: set[str], labels: list[str | None] | None = None
) -> int:
    """How many leading paragraphs are the transcript's heading or metadata block (title,
    date, place, who took part), which is not interview text: those before the first speaker
    turn, when one starts within ``MAX_HEADER_LINES`` paragraphs; 0 when the file has no clear
    header (no speaker turn that early, or one on the first line).

    A line with a speaker label still belongs to a header that has begun above it when the
    label is a word (not "I" or "IP"), starts no other paragraph, and the line reads as
    metadata, a few words without sentence punctuation ("Intervjuer: Kari Nordmann").
    ``labels``: ``label_of`` of each paragraph, when known."""
    pars = doc.paragraphs
    labels = labels if labels is not None else [label_of(p) for p in pars]
    uses = Counter(label for label in labels if label in speaker_labels)
    begun = False
    for i in range(min(len(pars), MAX_HEADER_LINES + 1)):
        label = labels[i]
        if label in speaker_labels and not (
            begun
            and len(label) > 2
            and uses[label] == 1
            and _reads_as_metadata(pars[i].text.strip(), label)
        ):
            return i if begun else 0
        begun = begun or bool(pars[i].text.strip())
    return 0


def _reads_as_metadata(text: str, label: str) -> bool:
    rest = text[_content_offset(text, label) :].strip()
    return (
        len(rest.split()) <= _METADATA_WORDS and "?" not in rest and not _SENTENCE_END.search(rest)
    )


@dataclass(frozen=True)
class TurnSpan:
    start: int
    content_start: int
    end: int
    label: str
    header: bool = False


def build_text_and_turns(
    doc: ParsedDocument, speaker_labels: set[str], header: int | None = None
) -> tuple[str, list[TurnSpan]]:
    """The stored text (paragraphs separated by a blank line) and its speaker turns.

    A turn runs from a paragraph that starts with one of ``speaker_labels`` to the next such
    paragraph. The first ``header`` paragraphs (``header_paragraphs`` when None) form the
    header, a turn without a speaker whatever labels they hold; other paragraphs before the
    first label form an unlabelled turn.
    """
    labels = [label_of(p) for p in doc.paragraphs]
    if header is None:
        header = header_paragraphs(doc, speaker_labels, labels)
    parts: list[str] = []
    turns: list[TurnSpan] = []
    pos = 0
    current: list | None = None  # [start, content_start, end, label, header]
    for n, (par, label) in enumerate(zip(doc.paragraphs, labels, strict=True)):
        text = par.text.strip()
        if not text:
            continue
        if parts:
            pos += 2  # the "\n\n" between paragraphs
        if n < header:
            if current is None:
                current = [pos, pos, pos + len(text), "", True]
            else:
                current[2] = pos + len(text)
        elif label in speaker_labels:
            if current:
                turns.append(TurnSpan(*current))
            content_offset = _content_offset(text, label)
            current = [pos, pos + content_offset, pos + len(text), label, False]
        elif current is None or current[4]:
            if current:
                turns.append(TurnSpan(*current))
            current = [pos, pos, pos + len(text), "", False]
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
