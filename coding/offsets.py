"""The one conversion between the browser's offsets and ours.

Our offset unit is the Python ``str`` index (a Unicode code point) into ``Transcript.text``. The
browser counts UTF-16 code units: every character outside the Basic Multilingual Plane (most
emoji, some CJK and historic scripts) is two units there and one here. Everything else (æøå,
combining marks, the LF line ends of the stored text) counts the same in both.

The wire format between the transcript view and the server is UTF-16: the page is rendered with
UTF-16 paragraph offsets, the script posts UTF-16 offsets, and the views convert here, at the
edge, before anything reaches ``services``. ``static/coding/offsets.js`` maps DOM positions to
those UTF-16 offsets and back; it never converts units.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

# Characters that take two UTF-16 code units (a surrogate pair).
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


class OffsetError(ValueError):
    """An offset from outside that is not a whole number, lies outside the text, or splits a
    surrogate pair."""


class Utf16Map:
    """Converts offsets into one text between code points and UTF-16 code units.

    Building the map is one pass over the text in C (an encode, and a regex scan only when the
    text holds astral characters); each conversion is a binary search.
    """

    __slots__ = ("cp_length", "u16_length", "_astral_cp", "_astral_u16")

    def __init__(self, text: str) -> None:
        self.cp_length = len(text)
        u16_length = len(text.encode("utf-16-le")) // 2
        if u16_length == self.cp_length:
            # The common case (Norwegian text without emoji): the two units agree everywhere.
            self._astral_cp: list[int] = []
        else:
            self._astral_cp = [m.start() for m in _ASTRAL.finditer(text)]
        # UTF-16 position of each astral character's high surrogate.
        self._astral_u16 = [cp + i for i, cp in enumerate(self._astral_cp)]
        self.u16_length = u16_length

    @property
    def is_identity(self) -> bool:
        return not self._astral_cp

    def to_u16(self, cp: int) -> int:
        """The UTF-16 offset of code point offset ``cp`` (0 <= cp <= len(text))."""
        if not 0 <= cp <= self.cp_length:
            raise OffsetError(f"offset {cp} outside 0..{self.cp_length}")
        if not self._astral_cp:
            return cp
        return cp + bisect.bisect_left(self._astral_cp, cp)

    def to_cp(self, u16: int) -> int:
        """The code point offset of UTF-16 offset ``u16``; refuses one inside a surrogate pair."""
        if not 0 <= u16 <= self.u16_length:
            raise OffsetError(f"offset {u16} outside 0..{self.u16_length}")
        if not self._astral_u16:
            return u16
        k = bisect.bisect_left(self._astral_u16, u16)  # astral characters that start before u16
        if k and self._astral_u16[k - 1] + 1 == u16:
            raise OffsetError(f"offset {u16} falls inside a surrogate pair")
        return u16 - k


def parse_offset(raw: object) -> int:
    """A posted offset as an int, or OffsetError (no floats, signs or blanks sneak through)."""
    if isinstance(raw, bool):
        raise OffsetError("an offset must be a whole number")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.strip().isdigit() and raw.strip().isascii():
        value = int(raw.strip())
    else:
        raise OffsetError(f"an offset must be a whole number, not {raw!r}")
    if value < 0:
        raise OffsetError("an offset cannot be negative")
    return value


def span_from_u16(umap: Utf16Map, start: object, end: object) -> tuple[int, int]:
    """Posted UTF-16 [start, end) as code point offsets. Order and content are checked later by
    ``services.check_span``, the one check every stored span goes through."""
    return umap.to_cp(parse_offset(start)), umap.to_cp(parse_offset(end))


# A paragraph of the stored text (one paragraph a line): a line's run from its first to its last
# character that is not white space. The one definition behind paragraph numbers
# (Transcript.paragraph_starts), the transcript view's paragraphs and the import's sentence
# splitting (nlp.split_sentences). One unanchored pass: a try fails at once on white space.
_PARAGRAPH = re.compile(r"\S(?:[^\n]*\S)?")


def paragraph_spans(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """[s, e) of each paragraph's text inside ``text[start:end]``, white space around it left out
    (a span starting inside a line yields that line's rest)."""
    for m in _PARAGRAPH.finditer(text, start, len(text) if end is None else end):
        yield m.start(), m.end()


def paragraph_starts(text: str) -> list[int]:
    """The offset where each paragraph's line starts, in order (``Excerpt.paragraph`` numbers
    them from 1)."""
    return [text.rfind("\n", 0, s) + 1 for s, _e in paragraph_spans(text)]
