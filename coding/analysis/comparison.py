"""The comparison of coders on one transcript and one code: passages side by side.

``compare(transcript, code_ids, coders)`` reads the chosen coders' codings of the code (and the
codes counted with it) in one query and cuts the text into *passages*: the connected stretches
any coder coded. Each passage is one of

- ``agree``: every coder coded all of it;
- ``boundary``: the coders overlap but not everywhere (they differ on where it begins or ends,
  or one coded a part of another's passage);
- ``only``: some coders coded it and the others nothing of it.

Each passage has one lane per coder: the passage's text in pieces, each piece marked with
whether that coder coded it, so the page shows the coders' coding stripes side by side.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from coding.analysis import stats
from coding.models import Coding, Membership, Transcript
from coding.spans import passages

CONTEXT = 60  # characters shown before and after a passage


@dataclass
class Piece:
    text: str
    coded: bool
    agreed: bool  # every coder coded this piece
    start: int = 0  # its offset (code points): the page turns a selection into offsets


@dataclass
class Passage:
    index: int
    start: int
    end: int
    kind: str  # "agree" | "boundary" | "only"
    coders: list[int]  # who coded any of it
    lanes: list[list[Piece]]  # one per coder, in the order given
    before: str
    after: str
    # Per coder, in the order given: the [start, end) spans the coder's codings cover inside
    # the passage (overlaps merged), the coder's "version" of it (services.consensus).
    spans: list[list[tuple[int, int]]] = field(default_factory=list)

    @property
    def disagreement(self) -> bool:
        return self.kind != "agree"

    @property
    def before_start(self) -> int:
        return self.start - len(self.before)


def cut(bounds: np.ndarray, start: int, end: int) -> list[tuple[int, int]]:
    """[start, end) cut at the sorted ``bounds`` strictly inside it."""
    inner = bounds[np.searchsorted(bounds, start, "right") : np.searchsorted(bounds, end, "left")]
    cuts = [start, *(int(x) for x in inner), end]
    return list(zip(cuts, cuts[1:], strict=False))


def compare(
    transcript: Transcript,
    code_ids: Iterable[int],
    coders: Sequence[Any],
    *,
    viewer: Membership | None = None,
) -> list[Passage]:
    """The passages of ``code_ids`` on ``transcript`` by ``coders`` (users), in text order;
    of the codings ``viewer`` may see (blind coding)."""
    # The coders' own codings: a consensus coding's coder is the researcher who decided it.
    spans = Coding.objects.visible_to(viewer).coder_spans(
        transcript, set(code_ids), [u.pk for u in coders]
    )
    text = transcript.text
    unions = [stats.union(np.array(spans[u.pk], dtype=np.int64)).reshape(-1, 2) for u in coders]
    m = len(coders)
    out: list[Passage] = []
    bounds = np.unique(np.concatenate([u.ravel() for u in unions]))
    for start, end, versions in passages([spans[u.pk] for u in coders]):
        pieces = cut(bounds, start, end)
        starts = np.array([s for s, _e in pieces], dtype=np.int64)
        ends = np.array([e for _s, e in pieces], dtype=np.int64)
        inside = [(stats.covered(u, starts, ends) > 0).tolist() for u in unions]
        agreed = [all(inside[k][i] for k in range(m)) for i in range(len(pieces))]
        who = [k for k in range(m) if any(inside[k])]
        kind = "only" if len(who) < m else "agree" if all(agreed) else "boundary"
        out.append(
            Passage(
                index=len(out),
                start=start,
                end=end,
                kind=kind,
                coders=[coders[k].pk for k in who],
                lanes=[
                    [
                        Piece(text[s:e], inside[k][i], agreed[i], s)
                        for i, (s, e) in enumerate(pieces)
                    ]
                    for k in range(m)
                ],
                before=text[max(0, start - CONTEXT) : start],
                after=text[end : end + CONTEXT],
                spans=versions,
            )
        )
    return out
