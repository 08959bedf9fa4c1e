"""Coding progress of a project's transcripts: share of text coded and codings per coder.

A fixed number of queries for any number of transcripts: the spans of all coded excerpts come in
one query and are grouped here; codings per coder are one aggregate query.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db.models import Count, Exists, OuterRef
from django.db.models.functions import Length

from coding.analysis.charts import series_colour
from coding.models import Coding, Excerpt, Membership, Project, Transcript, coded_chars
from coding.people import name_of

_C = TypeVar("_C")


def coder_order(
    coders: list[_C],
    name: Callable[[Any], str] = lambda c: c.name,
    pk: Callable[[Any], int] = lambda c: c.coder_id,
) -> list[_C]:
    """The one order of a project's coders, on the project page and the dashboard alike: by
    name, then id. A coder is someone with codings in the project (an owner who only manages
    is not one). Their place in this order is their slot, and the slot their colour."""
    return sorted(coders, key=lambda c: (name(c).casefold(), pk(c)))


@dataclass
class CoderCount:
    coder_id: int
    name: str
    n: int
    slot: int = 0  # the coder's place in the project, for a stable colour
    share: float = 0.0  # n relative to the largest count shown beside it (bar length)

    @property
    def colour(self) -> str:
        return series_colour(self.slot)


@dataclass
class TranscriptProgress:
    length: int = 0
    coded: int = 0
    codings: int = 0
    coders: list[CoderCount] = field(default_factory=list)

    @property
    def percent(self) -> float:
        """Share of the text inside at least one coded excerpt, 0–100."""
        return 100.0 * self.coded / self.length if self.length else 0.0


@dataclass
class ProjectProgress:
    transcripts: dict[int, TranscriptProgress]
    coders: list[CoderCount]  # totals over the project, by name
    length: int = 0
    coded: int = 0

    @property
    def percent(self) -> float:
        return 100.0 * self.coded / self.length if self.length else 0.0

    @property
    def codings(self) -> int:
        return sum(c.n for c in self.coders)

    def for_transcript(self, transcript_id: int) -> TranscriptProgress:
        return self.transcripts.get(transcript_id) or TranscriptProgress()


def project_progress(project: Project, *, viewer: Membership | None = None) -> ProjectProgress:
    """Coverage and codings per coder for every transcript of ``project`` (three queries), of
    the codings ``viewer`` may see (blind coding; None: all)."""
    lengths = dict(
        Transcript.objects.filter(case__project=project)
        .annotate(n_chars=Length("text"))
        .values_list("pk", "n_chars")
    )
    spans: dict[int, list[tuple[int, int]]] = defaultdict(list)
    # The coders' own codings: progress is coding work, and a consensus coding's coder is the
    # researcher who decided it.
    visible = Coding.objects.coder_layer().visible_to(viewer)
    coded_excerpts = Excerpt.objects.for_project(project).filter(
        Exists(visible.filter(content_object=OuterRef("pk")))
    )
    for transcript_id, start, end in coded_excerpts.values_list("transcript_id", "start", "end"):
        spans[transcript_id].append((start, end))
    per_coder = (
        visible.filter(content_object__transcript__case__project=project)
        .values(
            "content_object__transcript_id",
            "coder_id",
            "coder__username",
            "coder__first_name",
            "coder__last_name",
        )
        .annotate(n=Count("pk"))
        .order_by()
    )
    transcripts = {
        pk: TranscriptProgress(length=n or 0, coded=coded_chars(spans.get(pk, [])))
        for pk, n in lengths.items()
    }
    totals: dict[int, CoderCount] = {}
    for row in per_coder:
        name = name_of(row["coder__first_name"], row["coder__last_name"], row["coder__username"])
        cc = CoderCount(coder_id=row["coder_id"], name=name, n=row["n"])
        tp = transcripts.setdefault(row["content_object__transcript_id"], TranscriptProgress())
        tp.coders.append(cc)
        tp.codings += cc.n
        total = totals.setdefault(cc.coder_id, CoderCount(coder_id=cc.coder_id, name=name, n=0))
        total.n += cc.n
    coders = coder_order(list(totals.values()))
    slots = {c.coder_id: i for i, c in enumerate(coders)}
    top = max((c.n for c in coders), default=0)
    for c in coders:
        c.slot = slots[c.coder_id]
        c.share = c.n / top if top else 0.0
    top_cell = max((c.n for tp in transcripts.values() for c in tp.coders), default=0)
    for tp in transcripts.values():
        tp.coders.sort(key=lambda c: slots[c.coder_id])
        for c in tp.coders:
            c.slot = slots[c.coder_id]
            c.share = c.n / top_cell if top_cell else 0.0
    return ProjectProgress(
        transcripts=transcripts,
        coders=coders,
        length=sum(tp.length for tp in transcripts.values()),
        coded=sum(tp.coded for tp in transcripts.values()),
    )
