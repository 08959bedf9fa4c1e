"""The consensus beside the coders in the comparison view: its lane, and which passages are
settled.

A passage (``analysis.comparison``) is *settled* when a consensus decision not undone was made
on it (or on a passage overlapping it, should the coders' codings have moved since): the
consensus codings a transcript began with (``services.consensus.consensus_start_from``) are
shown in the lane but settle nothing until someone decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from coding.analysis import stats
from coding.analysis.comparison import CONTEXT, Passage, Piece, cut
from coding.models import (
    Code,
    Coding,
    ConsensusAction,
    ConsensusDecision,
    Membership,
    Transcript,
    blind_transcripts,
    later_dependents,
)
from coding.people import display_name


@dataclass
class Row:
    """One passage of the comparison with the consensus beside it."""

    passage: Passage
    before: list[Piece]  # the consensus lane over the context before the passage
    lane: list[Piece]  # ... over the passage
    after: list[Piece]
    decision: ConsensusDecision | None  # the latest live decision on it
    versions: list[tuple[Any, bool]]  # (coder, whether they coded in the passage), in order
    overruled: list[str]  # the names of the coders the decision overruled

    @property
    def settled(self) -> bool:
        return self.decision is not None


def _pieces(text: str, union: np.ndarray, start: int, end: int) -> list[Piece]:
    """[start, end) of ``text`` cut where the consensus spans begin and end."""
    if start >= end:
        return []
    pieces = cut(np.unique(union.ravel()), start, end)
    starts = np.array([s for s, _e in pieces], dtype=np.int64)
    ends = np.array([e for _s, e in pieces], dtype=np.int64)
    coded = (stats.covered(union, starts, ends) > 0).tolist()
    return [Piece(text[s:e], c, c, s) for (s, e), c in zip(pieces, coded, strict=True)]


@dataclass
class State:
    """The transcript's consensus as the comparison view reads it (two queries)."""

    spans: dict[int, list[tuple[int, int]]]  # code id -> the consensus spans of that code
    decisions: list[ConsensusDecision]  # every decision on the transcript, newest first

    @property
    def begun(self) -> bool:
        """Whether the consensus has any coding yet (of any code)."""
        return bool(self.spans)

    def union(self, code_id: int) -> np.ndarray:
        """The disjoint [start, end) spans the consensus codes with the code."""
        return stats.union(np.array(self.spans.get(code_id, []), dtype=np.int64).reshape(-1, 2))

    def history(self, code_id: int) -> list[ConsensusDecision]:
        """The decisions on the code, undone ones too, and the transcript's "start from a
        coder", newest first."""
        return [
            d for d in self.decisions if d.code_id == code_id or d.action == ConsensusAction.START
        ]

    def undoable(self, decision: ConsensusDecision) -> bool:
        """Whether undo may take ``decision`` back now (as ``services.consensus_undo``
        decides: live, and no later live decision depends on it)."""
        return decision.undone_at is None and not later_dependents(decision, self.decisions)

    def latest(self) -> ConsensusDecision | None:
        """What undo would take back (as ``services.consensus.latest_decision``)."""
        return next((d for d in self.decisions if d.undone_at is None), None)


def state(transcript: Transcript, *, viewer: Membership | None = None) -> State:
    """The transcript's consensus and its decisions, as ``viewer`` may see them: a researcher
    who codes the transcript blind sees none of others' decisions (``blind_transcripts``)."""
    spans: dict[int, list[tuple[int, int]]] = {}
    for code_id, start, end in (
        Coding.objects.consensus_layer()
        .visible_to(viewer)
        .filter(content_object__transcript=transcript)
        .values_list("tag_id", "content_object__start", "content_object__end")
    ):
        spans.setdefault(code_id, []).append((start, end))
    found = ConsensusDecision.objects.filter(transcript=transcript)
    blind = blind_transcripts(viewer)
    if viewer is not None and blind is not None and blind.filter(pk=transcript.pk).exists():
        found = found.filter(decided_by_id=viewer.user_id)
    decisions = list(
        found.select_related("decided_by", "kept_coder", "undone_by", "code").order_by(
            "-decided_at", "-id"
        )
    )
    return State(spans, decisions)


def _overlaps(d: ConsensusDecision, p: Passage) -> bool:
    return d.start is not None and d.end is not None and d.start < p.end and p.start < d.end


def rows(
    transcript: Transcript,
    code: Code,
    passages: list[Passage],
    consensus: State,
    coders: Sequence[Any],
) -> list[Row]:
    """The passages (of ``coders``, in that order) with the consensus lane and each one's latest
    live decision."""
    text = transcript.text
    union = consensus.union(code.pk)
    names = {u.pk: u for u in coders}
    live = [
        d
        for d in consensus.history(code.pk)
        if d.undone_at is None and d.action != ConsensusAction.START
    ]
    out = []
    for p in passages:
        decision = next((d for d in live if _overlaps(d, p)), None)
        out.append(
            Row(
                passage=p,
                before=_pieces(text, union, max(0, p.start - CONTEXT), p.start),
                lane=_pieces(text, union, p.start, p.end),
                after=_pieces(text, union, p.end, min(len(text), p.end + CONTEXT)),
                decision=decision,
                versions=[(u, bool(p.spans[k])) for k, u in enumerate(coders)],
                overruled=[
                    display_name(names[pk]) if pk in names else "?"
                    for pk in (decision.overruled if decision else [])
                ],
            )
        )
    return out
