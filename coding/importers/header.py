"""Interview metadata (date, mode) read from the first lines of a transcript."""

from __future__ import annotations

import re

from coding.importers.common import ParsedDocument
from coding.importers.speakers import KNOWN_LABEL_RE, label_of

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
