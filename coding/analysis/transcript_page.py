"""What the transcript view shows: the text as speaker turns and numbered paragraphs, and the
codings as compact rows for the page's script.

The text is rendered once per page load. Every write answers with a small delta (the current rows
of the excerpts it touched), so adding one coding never re-renders the transcript.

All offsets leaving this module are UTF-16 offsets (see ``coding.offsets``).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, F
from django.db.models.functions import Substr
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from coding.models import (
    AuditAction,
    AuditEvent,
    Code,
    Codebook,
    Coding,
    Excerpt,
    Informant,
    Membership,
    Memo,
    Sentence,
    Transcript,
    Turn,
)
from coding.offsets import Utf16Map
from coding.people import display_name

# Memo text sent with each excerpt for the hover card; the inspector loads the whole memo.
MEMO_PREVIEW_CHARS = 240


@dataclass
class TurnInfo:
    """What the view needs of a Turn (read as values: a long transcript has thousands)."""

    index: int
    start: int
    content_start: int
    end: int
    label: str
    is_interviewer: bool
    informant: Informant | None
    is_header: bool = False


def turn_infos(transcript: Transcript) -> list[TurnInfo]:
    informants = {i.pk: i for i in Informant.objects.filter(case_id=transcript.case_id)}
    return [
        TurnInfo(
            index, start, content_start, end, label, is_interviewer, informants.get(inf), header
        )
        for index, start, content_start, end, label, is_interviewer, inf, header in (
            transcript.turns.order_by("start").values_list(
                "index",
                "start",
                "content_start",
                "end",
                "label",
                "is_interviewer",
                "informant",
                "is_header",
            )
        )
    ]


@dataclass
class Paragraph:
    number: int  # 1-based, as Excerpt.paragraph counts
    offset: int  # UTF-16 offset of the first character shown
    text: str


@dataclass
class TurnRow:
    index: int
    label: str
    is_interviewer: bool
    informant: Informant | None
    start: int  # UTF-16 offset of the spoken text (after the label)
    end: int
    paragraphs: list[Paragraph] = field(default_factory=list)
    is_header: bool = False  # the heading or metadata block: not interview text


def transcript_rows(
    transcript: Transcript, umap: Utf16Map, turns: Sequence[TurnInfo | Turn]
) -> list[TurnRow]:
    """The text as turns of numbered paragraphs. A turn's label ("IP: ") is shown in its header,
    not in the text; text before the first turn (or in a transcript without turns) forms an
    unlabelled turn."""
    text = transcript.text
    turns = sorted(turns, key=lambda t: t.start)
    starts = [t.start for t in turns]
    rows: list[TurnRow] = []
    by_turn: dict[int, TurnRow] = {}
    for number, line_start in enumerate(transcript.paragraph_starts(), start=1):
        line_end = text.find("\n", line_start)
        line_end = len(text) if line_end == -1 else line_end
        i = bisect.bisect_right(starts, line_start) - 1
        turn = turns[i] if i >= 0 else None
        row = by_turn.get(i)
        if row is None:
            if turn is None:
                row = TurnRow(-1, "", False, None, umap.to_u16(line_start), 0)
            else:
                row = TurnRow(
                    turn.index,
                    turn.label,
                    turn.is_interviewer,
                    turn.informant,
                    umap.to_u16(turn.content_start),
                    umap.to_u16(turn.end),
                    is_header=turn.is_header,
                )
            by_turn[i] = row
            rows.append(row)
        shown = line_start
        if turn is not None and line_start < turn.content_start:
            shown = turn.content_start  # the label stays out of the selectable text
        if shown >= line_end:
            continue
        row.paragraphs.append(Paragraph(number, umap.to_u16(shown), text[shown:line_end]))
        if turn is None:
            row.end = umap.to_u16(line_end)
    return [r for r in rows if r.paragraphs or r.label]


def render_document(rows: list[TurnRow]) -> SafeString:
    """The transcript as HTML: a section per turn, a numbered paragraph per line.

    Written out here rather than in a template: a 200,000-word transcript has some 9,000
    paragraphs and the template engine spends tens of microseconds on each variable (and would
    localise the offsets, which must stay plain integers). Every text goes through ``escape``.
    As compact as the script allows (``manage.py benchmark page`` measures it): no class on a
    paragraph (the stylesheet reads ``.turn > p``), no empty stripes box (the script adds it).
    """
    interviewer = escape(_("Interviewer"))
    header = (
        f'<header class="turn-head"><span class="speaker">{escape(_("Header"))}</span>'
        f'<span class="who">{escape(_("not interview text"))}</span></header>'
    )
    out: list[str] = []
    for turn in rows:
        cls = "turn is-interviewer" if turn.is_interviewer else "turn"
        if turn.is_header:
            cls = "turn is-header"
        out.append(f'<section class="{cls}" data-s="{turn.start:d}" data-e="{turn.end:d}">')
        if turn.is_header:
            out.append(header)
        elif turn.label:
            head = f'<span class="speaker">{escape(turn.label)}</span>'
            if turn.is_interviewer:
                head += f'<span class="who">{interviewer}</span>'
            elif turn.informant is not None:
                i = turn.informant
                # A mapped turn is headed by who speaks; the file's label ("IP") is the tooltip.
                head = (
                    f'<span class="speaker" title="{escape(turn.label)}">'
                    f"{escape(i.pseudonym)}</span>"
                )
                if i.role_title:
                    head += f'<span class="who">{escape(i.role_title)}</span>'
                if i.level:
                    head += (
                        f'<span class="lvl lvl-{escape(i.level)}">'
                        f"{escape(i.get_level_display())}</span>"
                    )
            out.append(f'<header class="turn-head">{head}</header>')
        for p in turn.paragraphs:
            out.append(
                f'<p id="p{p.number:d}"><span class="pn">{p.number:d}</span>'
                f'<span class="t" data-o="{p.offset:d}">{escape(p.text)}</span></p>'
            )
        out.append("</section>")  # the script adds the coding stripes' box
    return mark_safe("".join(out))  # noqa: S308 (all text above went through escape)


def excerpt_rows(
    transcript_id: int,
    umap: Utf16Map,
    excerpt_ids: set[int] | None = None,
    *,
    viewer: Membership | None = None,
) -> list[list[Any]]:
    """Excerpts as ``[id, start, end, [[coding, code, coder], ...], [[memo, author, preview],
    ...]]`` with UTF-16 offsets, ordered by start. ``excerpt_ids`` limits the rows (a delta).
    ``viewer``: what the member may see (blind coding: the ``visible_to`` querysets)."""
    excerpts = Excerpt.objects.filter(transcript_id=transcript_id).visible_to(viewer)
    # The coders' own codings only: a consensus coding's coder is the researcher who decided
    # it, and it would show as their coding (the consensus is shown in the comparison view).
    if excerpt_ids is None:
        codings = Coding.objects.coder_layer().filter(content_object__transcript_id=transcript_id)
        memos = Memo.objects.filter(excerpt__transcript_id=transcript_id)
    else:
        # By excerpt id alone: joining through the transcript makes SQLite read all its codings.
        excerpts = excerpts.filter(pk__in=excerpt_ids)
        ids = list(excerpts.values_list("pk", flat=True))
        codings = Coding.objects.coder_layer().filter(content_object_id__in=ids)
        memos = Memo.objects.filter(excerpt_id__in=ids)
    codings = codings.visible_to(viewer)
    memos = memos.visible_to(viewer)
    u16 = _converter(umap)
    rows: dict[int, list[Any]] = {
        pk: [pk, u16(s), u16(e), [], []]
        for pk, s, e in excerpts.order_by("start", "end").values_list("pk", "start", "end")
    }
    # Three reads, not one snapshot: a coder working in the transcript right now may add an
    # excerpt with its coding (or a memo) between them. What belongs to an excerpt the first
    # read did not see is left for the next delta, never a KeyError (a 500 under load).
    for excerpt_id, pk, code_id, coder_id in codings.order_by("pk").values_list(
        "content_object_id", "pk", "tag_id", "coder_id"
    ):
        if excerpt_id in rows:
            rows[excerpt_id][3].append([pk, code_id, coder_id])
    for excerpt_id, pk, author_id, preview in (
        memos.order_by("created_at", "pk")
        .annotate(preview=Substr("text", 1, MEMO_PREVIEW_CHARS + 1))
        .values_list("excerpt_id", "pk", "author_id", "preview")
    ):
        if excerpt_id not in rows:
            continue
        if len(preview) > MEMO_PREVIEW_CHARS:
            preview = preview[:MEMO_PREVIEW_CHARS] + "…"
        rows[excerpt_id][4].append([pk, author_id, preview])
    # An excerpt that only the consensus holds is not a passage of this view (a delta reports
    # it as removed).
    return [r for r in rows.values() if r[3] or r[4]]


def code_rows(codes: list[Code]) -> list[list[Any]]:
    """Codes in tree order as ``[id, name, colour, shortcut, depth, parent]`` for the picker."""
    return [[c.pk, c.name, c.color, c.shortcut, c.depth, c.parent_id] for c in codes]


def user_names(user_ids: set[int]) -> dict[int, str]:
    return {u.pk: display_name(u) for u in get_user_model().objects.filter(pk__in=user_ids)}


def coders_of(excerpts: list[list[Any]], also: Iterable[int] = frozenset()) -> dict[int, str]:
    ids = set(also)
    for row in excerpts:
        ids.update(c[2] for c in row[3])
        ids.update(m[1] for m in row[4])
    return user_names(ids)


def boundaries(transcript: Transcript, umap: Utf16Map) -> dict[str, list[int]]:
    """Sentence and turn spans as flat UTF-16 [start, end, start, end, ...] lists, for "code
    this sentence / turn" and extending a selection, each number sent as its difference from
    the one before it (``deltas``; ``Spans`` in static/coding/offsets.js adds them up): a few
    digits each instead of seven."""
    u16 = _converter(umap)
    sentences = Sentence.objects.filter(transcript=transcript).order_by("start")
    turns = transcript.turns.order_by("start").filter(content_start__lt=F("end"))
    return {
        "sentences": deltas(u16(x) for pair in sentences.values_list("start", "end") for x in pair),
        "turns": deltas(u16(x) for pair in turns.values_list("content_start", "end") for x in pair),
    }


def deltas(numbers: Iterable[int]) -> list[int]:
    """Each number minus the one before it (the first as it is)."""
    out, last = [], 0
    for n in numbers:
        out.append(n - last)
        last = n
    return out


def _converter(umap: Utf16Map) -> Callable[[int], int]:
    """``umap.to_u16``, or nothing at all for the common text without astral characters."""
    return int if umap.is_identity else umap.to_u16


def code_counts(
    codebook: Codebook | None,
    transcript: Transcript | None = None,
    code_ids: Collection[int] | None = None,
    *,
    viewer: Membership | None = None,
) -> dict[int, int]:
    """Codings per code ``viewer`` may see, in the whole project or in one transcript."""
    if codebook is None:
        return {}
    qs = Coding.objects.coder_layer().filter(tag__codebook=codebook).visible_to(viewer)
    if transcript is not None:
        qs = qs.filter(content_object__transcript=transcript)
    if code_ids is not None:
        qs = qs.filter(tag_id__in=code_ids)
    counts = dict(qs.values_list("tag_id").annotate(n=Count("pk")).values_list("tag_id", "n"))
    if code_ids is not None:
        counts = {int(c): counts.get(int(c), 0) for c in code_ids}
    return counts


def undo_label(event: AuditEvent | None, done: bool = False) -> str:
    """What the undo button will undo, in words ("" when nothing); ``done`` words it as done."""
    if event is None:
        return ""
    d = event.details
    if event.action == AuditAction.CODING_ADD:
        codes = "”, “".join(d.get("codes", []))
        if done:
            return _("Undone: coding with “%(codes)s”") % {"codes": codes}
        return _("Undo coding with “%(codes)s”") % {"codes": codes}
    if event.action == AuditAction.CODING_REMOVE:
        if done:
            return _("Undone: removing “%(code)s”") % {"code": d.get("code", "")}
        return _("Undo removing “%(code)s”") % {"code": d.get("code", "")}
    if done:
        return _("Undone: changing a passage's boundaries")
    return _("Undo changing a passage's boundaries")
