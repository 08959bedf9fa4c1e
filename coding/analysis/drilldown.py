"""The drill-down: the excerpts behind a number of a matrix (a cell, a total, a co-occurrence
cell, a framework cell), one item per excerpt, or per merged passage on a merged coder basis.
Five queries whatever the number of excerpts (one more on a merged basis, two more when
consensus passages are shown).

An item is the passage as its layer has it: a coder passage names the coders who coded it; a
consensus passage (on a basis that counts the consensus) is said to be one, names who decided
it and, from the decisions, which coders had coded there. The researcher who decided is never
shown as if they had coded it."""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.db.models import OuterRef, Prefetch, Subquery

from coding.analysis import selection
from coding.models import (
    Code,
    Coding,
    CodingLayer,
    CodingQuerySet,
    ConsensusAction,
    ConsensusDecision,
    Excerpt,
    Informant,
    Membership,
    Memo,
    blind_transcripts,
)
from coding.people import display_name

if TYPE_CHECKING:
    from coding.analysis.key_quote_marks import Star

DRILLDOWN_LIMIT = 200


@dataclass
class DrillItem:
    """One excerpt of a cell, with everything the drill-down shows about it."""

    excerpt: Excerpt
    codes: list[Code]  # the codes of the passage's layer (the consensus's on a consensus item)
    coders: list[str]  # who coded it: on a consensus item, the coders its decisions compared
    memos: list[Memo]
    speaker: Informant | None
    url: str
    highlighted: set[int]
    stars: list[Star] = field(default_factory=list)  # set by the views (key_quote_marks.stars)
    # On a merged basis: how many coded excerpts the passage joins (1: an excerpt as it is).
    merged_from: int = 1
    # A passage of the consensus layer, and the researchers who decided it.
    consensus: bool = False
    decided_by: list[str] = field(default_factory=list)


def drilldown(
    codings: CodingQuerySet,
    *,
    highlight: Iterable[int] = (),
    limit: int = DRILLDOWN_LIMIT,
    merged: bool = False,
    consensus: bool = False,
    per_code: bool = False,
    viewer: Membership | None = None,
) -> tuple[int, list[DrillItem]]:
    """The excerpts of a set of codings (a matrix cell), the first ``limit`` in case and text
    order, and how many there are. Five queries whatever the number of excerpts (two more
    for the decisions when consensus items are shown).

    ``merged`` (the form's coder basis): one item per passage as the cell counts it
    (``CodingQuerySet.passage_rows``): overlapping excerpts are shown once, as the text of their
    union, with the codes, coders and memos of them all; the item's excerpt is the first of
    them, with the union's span and text (not saved). ``per_code``: the passages are made
    within each code and the distinct ones shown (a row's total, as the matrix counts it);
    otherwise within the whole set (one column's cell). ``consensus`` (the basis counts the
    consensus, ``AnalysisFilterForm.counts_consensus``): an excerpt that carries consensus
    codings is a consensus item (on such a basis the cell holds its consensus codings, not the
    coders'). ``viewer``: each excerpt's codings and memos as the member may see them (blind
    coding)."""
    if merged:
        return _merged_drilldown(
            codings,
            highlight=highlight,
            limit=limit,
            consensus=consensus,
            per_code=per_code,
            viewer=viewer,
        )
    excerpts = Excerpt.objects.filter(pk__in=codings.values("content_object_id"))
    total = excerpts.count()
    if "speaker_id" in codings.query.annotations:
        # The speaker the filters chose (one who passes an informant filter).
        # "speaker_id" is annotated by selection.with_speaker; django-stubs cannot follow it.
        chosen = codings.filter(content_object_id=OuterRef("pk")).values("speaker_id")[:1]  # type: ignore[misc]
        excerpts = excerpts.annotate(speaker_id=Subquery(chosen))  # type: ignore[no-redef]
    else:
        excerpts = selection.with_speaker(excerpts, "")
    rows = list(_with_details(excerpts, viewer)[:limit])
    return total, _items([[e] for e in rows], highlight, consensus, viewer)


def _in_order(excerpts: Any) -> Any:
    """Excerpts in case and text order (the drill-down's)."""
    return excerpts.order_by(
        "transcript__case__kind",
        "transcript__case__order",
        "transcript__interview_date",
        "transcript_id",
        "start",
    )


def _with_details(excerpts: Any, viewer: Membership | None) -> Any:
    """Excerpts in case and text order with what a drill-down item shows (two prefetches),
    as ``viewer`` may see them."""
    return _in_order(
        excerpts.select_related("transcript__case")
        .defer("transcript__text")
        .prefetch_related(
            Prefetch(
                "codings",
                queryset=Coding.objects.visible_to(viewer)
                .select_related("tag", "coder")
                .order_by("tag__order", "tag__name", "coder__username"),
            ),
            Prefetch(
                "memos",
                queryset=Memo.objects.visible_to(viewer).select_related("author").order_by("pk"),
            ),
        )
    )


def _items(
    passages: list[list[Excerpt]],
    highlight: Iterable[int],
    consensus: bool,
    viewer: Membership | None,
) -> list[DrillItem]:
    """A DrillItem per passage (its excerpts in text order; one, unless merged). With
    ``consensus``, a passage whose excerpts carry consensus codings is a consensus item."""
    speaker_ids = {e.speaker_id for group in passages for e in group if e.speaker_id}
    speakers = Informant.objects.in_bulk(speaker_ids) if speaker_ids else {}
    highlighted = set(highlight)
    layers = [
        CodingLayer.CONSENSUS
        if consensus
        and any(c.layer == CodingLayer.CONSENSUS for e in group for c in e.codings.all())
        else CodingLayer.CODER
        for group in passages
    ]
    compared = _compared_coders(
        [
            (c, e.transcript_id)
            for group, layer in zip(passages, layers, strict=True)
            if layer == CodingLayer.CONSENSUS
            for e in group
            for c in e.codings.all()
            if c.layer == CodingLayer.CONSENSUS
        ],
        viewer,
    )
    items = []
    for group, layer in zip(passages, layers, strict=True):
        first = group[0]
        codes: dict[int, Code] = {}
        coders: dict[int, str] = {}
        deciders: dict[int, str] = {}
        memos: list[Memo] = []
        for e in group:
            for c in e.codings.all():
                if c.layer != layer:
                    continue  # the other layer's codings of the same span are not this passage
                codes.setdefault(c.tag_id, c.tag)
                if layer == CodingLayer.CONSENSUS:
                    deciders.setdefault(c.coder_id, display_name(c.coder))
                    for pk, name in compared.get(c.pk, ()):
                        coders.setdefault(pk, name)
                else:
                    coders.setdefault(c.coder_id, display_name(c.coder))
            memos.extend(e.memos.all())
        if len(group) > 1:
            first = copy.copy(first)  # an excerpt can start passages of two codes
            # The union's text, from the excerpts' copies (each is the transcript's text at
            # its span, and the run of overlapping spans leaves no gap).
            text, end = first.text, first.end
            for e in group[1:]:
                if e.end > end:
                    text += e.text[end - e.start :]
                    end = e.end
            first.text, first.end = text, end
        speaker_id = next((e.speaker_id for e in group if e.speaker_id), None)
        items.append(
            DrillItem(
                excerpt=first,
                codes=list(codes.values()),
                coders=list(coders.values()),
                memos=memos,
                speaker=speakers.get(speaker_id) if speaker_id else None,
                url=first.get_absolute_url(),
                highlighted=highlighted,
                merged_from=len(group),
                consensus=layer == CodingLayer.CONSENSUS,
                decided_by=list(deciders.values()),
            )
        )
    return items


def _compared_coders(
    codings: list[tuple[Coding, int]], viewer: Membership | None
) -> dict[int, list[tuple[int, str]]]:
    """Of consensus codings (with their transcript ids): coding id -> the coders (id, name)
    whose versions its decision chose between and who had coded inside the passage (for a
    "start from a coder", that coder). Two queries, none without consensus codings. In a
    transcript ``viewer`` codes blind, only the viewer is named (``blind_transcripts``): the
    others' coding is not theirs to see."""
    batches = {c.batch for c, _t in codings if c.batch}
    if not batches:
        return {}
    decisions = {d.batch: d for d in ConsensusDecision.objects.filter(batch__in=batches)}
    ids_of: dict[int, list[int]] = {}
    for c, _t in codings:
        d = decisions.get(c.batch) if c.batch else None
        if d is None:
            continue  # made without a decision (an import): nobody to name
        if d.action == ConsensusAction.START:
            ids = [d.kept_coder_id] if d.kept_coder_id else []
        else:
            ids = [int(pk) for pk, spans in d.versions.items() if spans]
        ids_of[c.pk] = ids
    blind = blind_transcripts(viewer)
    if viewer is not None and blind is not None:
        hidden = set(blind.values_list("pk", flat=True))
        for c, transcript_id in codings:
            if transcript_id in hidden and c.pk in ids_of:
                ids_of[c.pk] = [pk for pk in ids_of[c.pk] if pk == viewer.user_id]
    users = User.objects.in_bulk({pk for ids in ids_of.values() for pk in ids})
    return {
        c_pk: [(pk, display_name(users[pk])) for pk in ids if pk in users]
        for c_pk, ids in ids_of.items()
    }


def _merged_drilldown(
    codings: CodingQuerySet,
    *,
    highlight: Iterable[int],
    limit: int,
    consensus: bool,
    per_code: bool,
    viewer: Membership | None,
) -> tuple[int, list[DrillItem]]:
    """``drilldown(merged=True)``: the passages from one statement (``passage_rows``), the
    first ``limit`` of them read as in ``drilldown``."""
    # excerpt id -> the passages (transcript id, start) it lies in (one per code at most);
    # passages of several codes that start at one place are one item (as the totals count).
    passage_of: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for ex, tr, st, _en, _k in codings.passage_rows(by_code=per_code):
        if (tr, st) not in passage_of[ex]:
            passage_of[ex].append((tr, st))
    total = len({p for ps in passage_of.values() for p in ps})
    excerpts = Excerpt.objects.filter(pk__in=codings.values("content_object_id"))
    # The passages in order, the first ``limit``: their excerpts are read, no others.
    ordered = list(_in_order(excerpts).values_list("pk", flat=True))
    if "speaker_id" in codings.query.annotations:
        chosen = codings.filter(content_object_id=OuterRef("pk")).values("speaker_id")[:1]  # type: ignore[misc]
        excerpts = excerpts.annotate(speaker_id=Subquery(chosen))  # type: ignore[no-redef]
    else:
        excerpts = selection.with_speaker(excerpts, "")
    groups: dict[tuple[int, int], list[int]] = {}
    for pk in ordered:
        for key in passage_of.get(pk, ()):
            if key not in groups and len(groups) >= limit:
                continue
            groups.setdefault(key, []).append(pk)
    wanted = [pk for pks in groups.values() for pk in pks]
    by_id = {e.pk: e for e in _with_details(excerpts.filter(pk__in=wanted), viewer)}
    passages = [[by_id[pk] for pk in pks if pk in by_id] for pks in groups.values()]
    return total, _items([p for p in passages if p], highlight, consensus, viewer)
