"""A REFI-QDA project's sources: text files found in the zip, their selections mapped to the
stored text (OffsetMap), and the XML helpers the readers share.
"""

from __future__ import annotations

import unicodedata
import zipfile
from pathlib import PurePosixPath

from django.utils.translation import gettext as _
from lxml import etree

from coding import importers
from coding.exchange.common import norm_guid, parse_datetime, unfold
from coding.exchange.plan import SOURCE_KEYS, ExchangePlan, RCoding, RSelection, RSource

# --- the XML -----------------------------------------------------------------------------------


def _kids(el: etree._Element, tag: str) -> list[etree._Element]:
    return [c for c in el if c.tag == tag]


def _kid(el: etree._Element, tag: str) -> etree._Element | None:
    for c in el:
        if c.tag == tag:
            return c
    return None


def _desc(el: etree._Element) -> str:
    d = _kid(el, "Description")
    return (d.text or "") if d is not None else ""


def _refs(el: etree._Element, tag: str) -> list[str]:
    return [g for g in (norm_guid(r.get("targetGUID")) for r in _kids(el, tag)) if g]


def _resolve(path: str | None, members: dict[str, str]) -> tuple[str | None, bool]:
    """(member name, external) for a REFI path: internal://x lies in sources/ (or Sources/);
    a relative path is tried as it is and under sources/; anything else lies outside the file."""
    if not path:
        return None, False
    p = path.strip().replace("\\", "/")
    if p.lower().startswith("internal://"):
        rel = p[len("internal://") :].lstrip("/")
        candidates = [f"sources/{rel}", rel]
    elif "://" in p or p.startswith("/") or (len(p) > 1 and p[1] == ":"):
        return None, True
    else:
        candidates = [p, f"sources/{p}"]
    for c in candidates:
        if ".." in PurePosixPath(c).parts:
            return None, True
        hit = members.get(c.lower())
        if hit:
            return hit, False
    return None, False


def _decode(data: bytes) -> str | None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _plain_text(
    el: etree._Element,
    zf: zipfile.ZipFile | None,
    members: dict[str, str],
    plan: ExchangePlan,
    label: str,
) -> str | None:
    """PlainTextContent, else the file at plainTextPath (both allowed when they agree)."""
    content = _kid(el, "PlainTextContent")
    if content is not None and content.text:
        return content.text
    member, external = _resolve(el.get("plainTextPath"), members)
    if member is None or zf is None:
        why = (
            _("its text is a file outside the project file")
            if external
            else _("its plain text is missing")
        )
        plan.left_out.append((label, why))
        return None
    text = _decode(zf.read(member))
    if text is None:
        plan.left_out.append((label, _("its text is not UTF-8 or UTF-16")))
    return text


def _read_source(
    s: etree._Element,
    sname: str,
    zf: zipfile.ZipFile | None,
    members: dict[str, str],
    plan: ExchangePlan,
    code_guids: set[str],
) -> RSource | None:
    guid = norm_guid(s.get("guid"))
    label = _("Source “%(name)s”") % {"name": sname}
    if not guid:
        plan.left_out.append((label, _("it has no valid GUID")))
        return None
    raw = _plain_text(s, zf, members, plan, label)
    if raw is None:
        return None
    doc = importers.parse_pasted(raw, sname) if raw.strip() else None
    if doc is None:
        plan.left_out.append((label, _("it has no text")))
        return None
    text, _turns = importers.build_text_and_turns(doc, set())
    mapping = OffsetMap(raw, text)
    rich = None
    member, _external = _resolve(s.get("richTextPath"), members)
    if member is not None and zf is not None:
        ext = PurePosixPath(member).suffix.lower()
        if ext in (".docx", ".odt", ".txt", ".rtf"):
            rich = (ext, zf.read(member))
    _main, meta = unfold(_desc(s), SOURCE_KEYS)
    src = RSource(
        guid=guid,
        name=sname.strip()[:300],
        text=text,
        user=norm_guid(s.get("creatingUser")),
        created_at=parse_datetime(s.get("creationDateTime")),
        meta=meta,
        rich=rich,
        notes=_refs(s, "NoteRef"),
    )
    whole = _kids(s, "Coding")
    selections = list(_kids(s, "PlainTextSelection"))
    bad_range = bad_text = unknown_code = blank = 0
    for el in selections + ([None] if whole else []):
        if el is None:  # codings of the whole source: a selection of all of its text
            start, end, sel_el = 0, len(raw), s
            codings_el = whole
        else:
            sel_el, codings_el = el, _kids(el, "Coding")
            try:
                start, end = int(el.get("startPosition")), int(el.get("endPosition"))
            except (TypeError, ValueError):
                bad_range += 1
                continue
        if not (0 <= start < end <= len(raw)):
            bad_range += 1
            continue
        piece = raw[start:end]
        if not piece.strip() or (not piece.isprintable() and not OffsetMap.bare(piece)):
            blank += 1
            continue
        span = mapping.span(start, end)
        if span is None:
            bad_text += 1
            continue
        codings = []
        for c in codings_el:
            code = _refs(c, "CodeRef")
            if not code or code[0] not in code_guids:
                unknown_code += 1
                continue
            codings.append(
                RCoding(
                    guid=norm_guid(c.get("guid")),
                    code=code[0],
                    user=norm_guid(c.get("creatingUser")) or norm_guid(sel_el.get("creatingUser")),
                    created_at=parse_datetime(c.get("creationDateTime")),
                )
            )
        notes = _refs(sel_el, "NoteRef") if el is not None else []
        if not codings and not notes:
            continue
        src.selections.append(
            RSelection(
                guid=norm_guid(sel_el.get("guid")) if el is not None else None,
                start=span[0],
                end=span[1],
                user=norm_guid(sel_el.get("creatingUser")),
                created_at=parse_datetime(sel_el.get("creationDateTime")),
                codings=codings,
                notes=notes,
            )
        )
    if bad_range:
        plan.left_out.append(
            (
                _("%(label)s: %(n)s selections") % {"label": label, "n": bad_range},
                _("their offsets fall outside the text"),
            )
        )
    if bad_text:
        plan.left_out.append(
            (
                _("%(label)s: %(n)s selections") % {"label": label, "n": bad_text},
                _("their text no longer matches after line ends and spaces were normalised"),
            )
        )
    if blank:
        plan.left_out.append(
            (
                _("%(label)s: %(n)s selections") % {"label": label, "n": blank},
                _("they hold only white space"),
            )
        )
    if unknown_code:
        plan.left_out.append(
            (
                _("%(label)s: %(n)s codings") % {"label": label, "n": unknown_code},
                _("their code is not in the codebook"),
            )
        )
    return src


class OffsetMap:
    """Maps code-point offsets in a source's raw text to its stored form.

    The stored form (importers.build_text_and_turns over nlp.normalize_text) differs from the
    raw text only in white space, control characters and NFC composition; the two are walked
    side by side once. A span maps to the stored characters its raw characters became, and is
    refused when its text (white space aside) is not the same afterwards.
    """

    def __init__(self, raw: str, text: str) -> None:
        self.raw, self.text = raw, text
        if raw == text:  # already in the stored form (our own exports): nothing moves
            self.identity = True
            return
        self.identity = False
        keep = [-1] * len(raw)
        i = j = 0
        n, m = len(raw), len(text)
        while i < n:
            c = raw[i]
            if j < m and c == text[j]:
                keep[i] = j
                i += 1
                j += 1
            elif c.isspace() or unicodedata.category(c) in ("Cc", "Cf"):
                i += 1
            elif j < m and text[j].isspace():
                j += 1
            elif j < m and text[j] == "\ufffd" and unicodedata.category(c) == "Cs":
                keep[i] = j
                i += 1
                j += 1
            else:
                for k in (2, 3, 4):
                    if j < m and unicodedata.normalize("NFC", raw[i : i + k]) == text[j]:
                        for d in range(k):
                            keep[i + d] = j
                        i += k
                        j += 1
                        break
                else:
                    break  # the rest cannot be aligned: its spans are refused
        self.keep = keep
        nxt = [-1] * (n + 1)
        for x in range(n - 1, -1, -1):
            nxt[x] = keep[x] if keep[x] >= 0 else nxt[x + 1]
        prv = [-1] * (n + 1)
        for x in range(1, n + 1):
            prv[x] = keep[x - 1] if keep[x - 1] >= 0 else prv[x - 1]
        self.nxt, self.prv = nxt, prv

    @staticmethod
    def bare(s: str) -> str:
        s = unicodedata.normalize("NFC", s)
        return "".join(
            ch for ch in s if not ch.isspace() and unicodedata.category(ch) not in ("Cc", "Cf")
        )

    def span(self, start: int, end: int) -> tuple[int, int] | None:
        if self.identity:
            return start, end
        s, e = self.nxt[start], self.prv[end]
        if s < 0 or e < 0 or e + 1 <= s:
            return None
        e += 1
        if self.bare(self.raw[start:end]) != self.bare(self.text[s:e]):
            return None
        return s, e
