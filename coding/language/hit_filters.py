"""What a search keeps of its hits: the filters that read the hits' turns and the coding
around them (``lemma_search.find_hits`` applies them after the engine found the words in the
interview text, ``lemma_search.searched_sentences``), and the two records they work on."""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field

from coding.analysis import selection
from coding.models import Code, Coding, Excerpt, Membership, Turn, passage_url


@dataclass
class Filters:
    case_ids: list[int] = field(default_factory=list)
    transcript_ids: list[int] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    # "" everyone, "informant" informants only, "interviewer" interviewers only
    speaker: str = ""
    # With ``coded`` "coded" or "uncoded": only hits inside (outside) a passage coded with
    # ``code``, or with any code when ``code`` is None.
    code: Code | None = None
    coded: str = ""
    # Only hits inside a passage marked as a key quote (one the viewer may see).
    key_quotes: bool = False
    # Whose eyes the "coded" filter reads with (blind coding: CodingQuerySet.visible_to).
    viewer: Membership | None = None


@dataclass
class Hit:
    transcript_id: int
    start: int
    end: int
    sentence_id: int
    turn_id: int
    left: str = ""
    match: str = ""
    right: str = ""
    cut_left: bool = False
    cut_right: bool = False
    # Whether white space parts the hit from its context ("bolig, noen": not on the right), so
    # the line shows the text's own spacing rather than a gap on each side.
    spaced_left: bool = True
    spaced_right: bool = True

    @property
    def key(self) -> str:
        """How a hit is named in forms (transcript:start:end)."""
        return f"{self.transcript_id}:{self.start}:{self.end}"

    @property
    def url(self) -> str:
        return passage_url(self.transcript_id, self.start, self.end)


def by_speaker(hits: list[Hit], filters: Filters) -> list[Hit]:
    """The hits spoken as ``filters`` ask: by informants or the interviewer (the turn's flag),
    and by informants of the chosen levels (who speaks: ``analysis.selection``, the rule the
    matrices count by)."""
    if filters.speaker:
        interviewer = set(
            Turn.objects.filter(pk__in={h.turn_id for h in hits}, is_interviewer=True).values_list(
                "pk", flat=True
            )
        )
        want = filters.speaker == "interviewer"
        hits = [h for h in hits if (h.turn_id in interviewer) == want]
    if filters.levels:
        spoken = selection.turns_spoken_by(
            {h.turn_id for h in hits}, selection.informants_of_levels(filters.levels)
        )
        hits = [h for h in hits if h.turn_id in spoken]
    return hits


def by_coding(hits: list[Hit], filters: Filters) -> list[Hit]:
    """The hits inside (``coded`` "coded") or outside ("uncoded") a passage coded with
    ``code`` (any code when None), of the codings the viewer may see; with ``key_quotes``, only
    those inside a passage someone marked as a key quote for its code (``code``, if chosen)."""
    if filters.coded not in ("coded", "uncoded") and not filters.key_quotes:
        return hits
    tids = {h.transcript_id for h in hits}
    coded = Coding.objects.filter(content_object__transcript_id__in=tids).visible_to(filters.viewer)
    if filters.code:
        coded = coded.filter(tag=filters.code)
    if filters.key_quotes:
        coded = coded.key_quotes(viewer=filters.viewer)
    qs = Excerpt.objects.filter(pk__in=coded.values("content_object_id"))
    spans: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for tid, s, e in qs.values_list("transcript_id", "start", "end").distinct():
        spans[tid].append((s, e))
    index = {}
    for tid, items in spans.items():
        items.sort()
        ends, top = [], -1
        for _s, e in items:
            top = max(top, e)
            ends.append(top)
        index[tid] = ([s for s, _e in items], ends)

    def inside(h: Hit) -> bool:
        starts, ends = index.get(h.transcript_id, ([], []))
        i = bisect.bisect_left(starts, h.end)  # spans starting before the hit ends
        return i > 0 and ends[i - 1] > h.start

    want = filters.coded != "uncoded" or filters.key_quotes  # a key quote is coded
    return [h for h in hits if inside(h) == want]
