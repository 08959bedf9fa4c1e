"""The supervisors' dashboard: code frequencies, coding progress, activity, loose ends.

``build`` reads everything in a fixed number of queries (the codes, coders, cases, one
frequency aggregate, the transcripts with their lengths, the coded spans, the recent activity
and, where the project asks for memos, the excerpts without one) and derives every table and
chart from those rows, so a chart always shows the numbers of the table beside it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from coding.analysis.charts import BarChart, Progress, series_colour, stacked_bars
from coding.analysis.progress import coder_order
from coding.analysis.specs import CodeTree
from coding.models import (
    Assignment,
    AuditEvent,
    Case,
    Code,
    Coding,
    Excerpt,
    Membership,
    Project,
    Transcript,
    blind_transcripts,
    coded_chars,
)
from coding.people import display_name

RECENT_EVENTS = 25
MEMOLESS_SHOWN = 30


@dataclass
class Coder:
    pk: int
    name: str
    colour: str


@dataclass
class CodeRow:
    code: Code
    depth: int
    by_coder: list[int]
    total: int
    subtree_total: int


@dataclass
class CaseRow:
    case: Case
    by_coder: list[int]
    total: int


@dataclass
class TranscriptRow:
    pk: int
    title: str
    case: str
    words: int
    codings: int
    per_1000: float
    coverage: Progress
    by_coder: list[tuple[Progress, int]]


@dataclass
class CoderRow:
    coder: Coder
    codings: int
    transcripts: int
    per_1000: float
    coverage: Progress


@dataclass
class AssignmentRow:
    """One assignment and its progress: ``coverage`` is the share of the transcript's text
    inside the passages the coder coded (overlaps once); ``done`` the coder's own mark."""

    assignment: Assignment
    coder: str
    coverage: Progress
    codings: int
    done: bool


@dataclass
class Dashboard:
    coders: list[Coder]
    codes: list[CodeRow]
    cases: list[CaseRow]
    transcripts: list[TranscriptRow]
    coder_rows: list[CoderRow]
    code_chart: BarChart
    case_chart: BarChart
    activity: list[AuditEvent]
    unused: list[Code]
    memos_required: bool
    memoless: list[dict[str, Any]] = field(default_factory=list)
    memoless_count: int = 0
    total_codings: int = 0
    total_transcripts: int = 0
    assignments: list[AssignmentRow] = field(default_factory=list)
    basis: str = field(default_factory=lambda: basis_line())


def basis_line() -> str:
    """The dashboard's coder basis, in words (its figures are workload)."""
    return _(
        "Sum of the coders' codings (workload): each coder's coding counts, consensus "
        "codings do not. Coverage counts text that any coder coded once."
    )


def build(project: Project, *, viewer: Membership | None = None) -> Dashboard:
    """The dashboard as ``viewer`` may see it (blind coding: the ``visible_to`` querysets;
    None: everything)."""
    tree = CodeTree.of(project)
    User = get_user_model()
    visible = Coding.objects.for_project(project).visible_to(viewer)
    # Coders as on the project page (progress.coder_order): whoever has coded here.
    # The figures are the coders' workload: the sum of their own codings (the coder basis
    # "sum", stated on the page as ``Dashboard.basis``); the consensus layer is not counted.
    coded = visible.coder_layer().filter(coder_id=OuterRef("pk"))
    users = coder_order(
        list(User.objects.filter(Exists(coded))),
        name=display_name,
        pk=lambda u: u.pk,
    )
    coders = [Coder(u.pk, display_name(u), series_colour(i)) for i, u in enumerate(users)]
    index = {c.pk: i for i, c in enumerate(coders)}
    cases = list(Case.objects.filter(project=project).order_by("kind", "order", "name"))

    # Frequencies: one aggregate, summed three ways.
    by_code: dict[int, list[int]] = defaultdict(lambda: [0] * len(coders))
    by_case: dict[int, list[int]] = defaultdict(lambda: [0] * len(coders))
    total = 0
    for r in visible.coder_layer().frequency_rows():
        i = index.get(r["coder_id"])
        if i is None:  # a coder the user query missed cannot happen; stay safe anyway
            continue
        by_code[r["tag_id"]][i] += r["n"]
        by_case[r["case_id"]][i] += r["n"]
        total += r["n"]

    own = {c.pk: sum(by_code[c.pk]) for c in tree.codes}
    code_rows = []
    for c in tree.codes:
        subtree = sum(own[pk] for pk in tree.subtree(c.pk))
        code_rows.append(CodeRow(c, c.depth, list(by_code[c.pk]), own[c.pk], subtree))
    unused = [r.code for r in code_rows if r.subtree_total == 0]
    case_rows = [CaseRow(c, list(by_case[c.pk]), sum(by_case[c.pk])) for c in cases]

    def segments(values: list[int], label: str) -> list[tuple[int, str, str]]:
        return [
            (v, coders[i].colour, f"{label} · {coders[i].name}: {v}") for i, v in enumerate(values)
        ]

    legend = [(c.name, c.colour) for c in coders]
    charted = [r for r in code_rows if r.total or r.subtree_total]
    code_chart = stacked_bars(
        [(r.code.name, segments(r.by_coder, r.code.name)) for r in charted],
        legend=legend,
        indents=[r.depth for r in charted],
    )
    case_chart = stacked_bars(
        [(r.case.name, segments(r.by_coder, r.case.name)) for r in case_rows], legend=legend
    )

    # Progress: the transcripts' lengths and the coded spans; coverage is a union of spans.
    transcripts = list(
        Transcript.objects.filter(case__project=project)
        .with_text_length()
        .order_by("case__kind", "case__order", "interview_date", "title")
        # "chars" comes from with_text_length(), an annotation django-stubs cannot follow.
        .values("pk", "title", "case__name", "word_count", "chars")  # type: ignore[misc]
    )
    spans_all: dict[int, list[tuple[int, int]]] = defaultdict(list)
    spans_coder: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    n_all: dict[int, int] = defaultdict(int)
    n_coder: dict[tuple[int, int], int] = defaultdict(int)
    for r in visible.coder_layer().span_rows():
        span = (r["start"], r["end"])
        spans_all[r["transcript_id"]].append(span)
        spans_coder[(r["transcript_id"], r["coder_id"])].append(span)
        n_all[r["transcript_id"]] += r["n"]
        n_coder[(r["transcript_id"], r["coder_id"])] += r["n"]

    transcript_rows = []
    for t in transcripts:
        chars = t["chars"] or 1
        words = t["word_count"] or 0
        per_coder = [
            (
                # Narrow: one such column per coder has to fit the card at 1280 px.
                Progress(coded_chars(spans_coder[(t["pk"], c.pk)]) / chars, width=40),
                n_coder[(t["pk"], c.pk)],
            )
            for c in coders
        ]
        transcript_rows.append(
            TranscriptRow(
                pk=t["pk"],
                title=t["title"],
                case=t["case__name"],
                words=words,
                codings=n_all[t["pk"]],
                per_1000=round(1000 * n_all[t["pk"]] / words, 1) if words else 0.0,
                coverage=Progress(coded_chars(spans_all[t["pk"]]) / chars),
                by_coder=per_coder,
            )
        )

    all_chars = sum(t["chars"] or 0 for t in transcripts) or 1
    coder_rows = []
    for coder in coders:
        touched = [t for t in transcripts if n_coder[(t["pk"], coder.pk)]]
        codings = sum(n_coder[(t["pk"], coder.pk)] for t in transcripts)
        words = sum(t["word_count"] or 0 for t in touched)
        covered = sum(coded_chars(spans_coder[(t["pk"], coder.pk)]) for t in touched)
        coder_rows.append(
            CoderRow(
                coder=coder,
                codings=codings,
                transcripts=len(touched),
                per_1000=round(1000 * codings / words, 1) if words else 0.0,
                coverage=Progress(covered / all_chars),
            )
        )

    activity = list(
        AuditEvent.objects.filter(project=project)
        .visible_to(viewer)
        .select_related("actor", "transcript")
        .only(
            "action",
            "details",
            "created_at",
            "actor__username",
            "actor__first_name",
            "actor__last_name",
            "transcript__title",
        )[:RECENT_EVENTS]
    )
    for event in activity:
        # For the template: the event in words (AuditEvent has no such field).
        setattr(event, "summary", describe_event(event))  # noqa: B010

    board = Dashboard(
        coders=coders,
        codes=code_rows,
        cases=case_rows,
        transcripts=transcript_rows,
        coder_rows=coder_rows,
        code_chart=code_chart,
        case_chart=case_chart,
        activity=activity,
        unused=unused,
        memos_required=project.memos_required,
        total_codings=total,
        total_transcripts=len(transcripts),
    )
    if project.memos_required:
        memoless = Excerpt.objects.for_project(project).visible_to(viewer).without_memos()
        board.memoless_count = memoless.count()
        for e in (
            memoless.select_related("transcript__case")
            .defer("transcript__text")
            .order_by(
                "transcript__case__kind", "transcript__case__order", "transcript_id", "start"
            )[:MEMOLESS_SHOWN]
        ):
            board.memoless.append(
                {
                    "excerpt": e,
                    "url": e.get_absolute_url(),
                }
            )
    chars = {t["pk"]: t["chars"] or 1 for t in transcripts}
    assignments = Assignment.objects.for_project(project.pk).select_related("coder", "transcript")
    blind = blind_transcripts(viewer)
    if blind is not None and viewer is not None:
        # Another coder's progress in a blind transcript is what they coded: left out.
        assignments = assignments.exclude(
            Q(transcript_id__in=blind.values("pk")) & ~Q(coder_id=viewer.user_id)
        )
    for a in assignments.defer("transcript__text").order_by(
        "transcript__case__kind", "transcript__case__order", "transcript__title", "coder__username"
    ):
        key = (a.transcript_id, a.coder_id)
        board.assignments.append(
            AssignmentRow(
                assignment=a,
                coder=display_name(a.coder),
                coverage=Progress(coded_chars(spans_coder[key]) / chars.get(a.transcript_id, 1)),
                codings=n_coder[key],
                done=a.done_at is not None,
            )
        )
    return board


def describe_event(event: AuditEvent) -> str:
    """A short line of what an audit event changed (codes, memo length, file)."""
    d = event.details or {}
    if d.get("codes"):
        return ", ".join(str(c) for c in d["codes"])
    if d.get("code"):
        return str(d["code"])
    if d.get("file"):
        return str(d["file"])
    if d.get("length"):
        return _("%(n)s characters") % {"n": d["length"]}
    return ""
