"""Spans of text as [start, end) pairs: their union, and the passages several versions make.

The comparison view (``analysis.comparison``) and the consensus service
(``services.consensus``) cut a transcript's codings of a code into the same passages here, so
a decision settles exactly the passage the page showed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Span = tuple[int, int]


def union(spans: Iterable[Span]) -> list[Span]:
    """The disjoint, sorted spans covering ``spans``; spans that overlap or touch join (the
    rule of ``analysis.stats.union``)."""
    out: list[Span] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def passages(versions: Sequence[Iterable[Span]]) -> list[tuple[int, int, list[list[Span]]]]:
    """The passages of several versions of a coding (one collection of spans per coder): the
    connected stretches any version covers, in text order, each as (start, end, the union of
    each version's spans inside it, in the order given; empty where a version has none)."""
    unions = [union(v) for v in versions]
    return [
        (start, end, [[(s, e) for s, e in u if start <= s and e <= end] for u in unions])
        for start, end in union(span for u in unions for span in u)
    ]
