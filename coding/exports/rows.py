"""What an export holds, as plain rows: read from the database in a fixed number of queries.

``collect`` turns a queryset of codings (the whole project, a filter of the matrix or one cell)
into an ``ExportData`` that the Word writer lays out without touching the database. The number
of queries does not grow with the number of excerpts, and no query passes a list of ids as
parameters (SQLite caps those): every id set travels as a subquery.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from coding.analysis import selection
from coding.models import (
    AttributeValue,
    Case,
    Code,
    Coding,
    CodingLayer,
    CodingQuerySet,
    Excerpt,
    FrameworkSummary,
    Informant,
    Membership,
    Memo,
    Project,
    Transcript,
    Turn,
)
from coding.people import display_name

# A coding's author as the export names it: (coder id, layer).
Who = tuple[int, str]

# Characters of transcript read on each side of an excerpt when context is asked for; the
# writer trims that to whole words.
CONTEXT_CHARS = 400


@dataclass(frozen=True, slots=True)
class CodeRow:
    id: int
    name: str
    parent_id: int | None
    depth: int
    definition: str = ""
    inclusion: str = ""
    exclusion: str = ""
    example: str = ""


@dataclass(frozen=True, slots=True)
class InformantRow:
    id: int
    pseudonym: str
    role: str
    level: str  # display label, in the export's language

    def describe(self) -> str:
        details = ", ".join(x for x in (self.role, self.level) if x)
        return f"{self.pseudonym} ({details})" if details else self.pseudonym


@dataclass(frozen=True, slots=True)
class CaseRow:
    id: int
    name: str
    kind: str
    description: str = ""
    attributes: tuple[tuple[str, str], ...] = ()
    informants: tuple[InformantRow, ...] = ()


@dataclass(frozen=True, slots=True)
class MemoRow:
    author: str
    text: str


@dataclass(frozen=True, slots=True)
class ExcerptRow:
    id: int
    case_id: int
    transcript_title: str
    paragraph: int
    text: str
    informants: tuple[InformantRow, ...] = ()
    code_ids: tuple[int, ...] = ()  # every code the excerpt carries, in codebook order
    memos: tuple[MemoRow, ...] = ()
    before: str = ""  # transcript text just before the excerpt (context), untrimmed
    after: str = ""
    sort_key: tuple[Any, ...] = ()


@dataclass
class ExportData:
    """Everything a layout needs. ``placements`` are (code id, excerpt id, coder names)."""

    project_name: str
    project_description: str = ""
    codes: list[CodeRow] = field(default_factory=list)
    cases: list[CaseRow] = field(default_factory=list)
    excerpts: dict[int, ExcerptRow] = field(default_factory=dict)
    placements: list[tuple[int, int, tuple[str, ...]]] = field(default_factory=list)
    # Framework matrix: (case id, code id) -> summary text.
    summaries: dict[tuple[int, int], str] = field(default_factory=dict)
    # Report: the factors (the framework matrix's columns), which factor each code counts
    # under (a factor and its sub-codes), the case summaries and the cross-case syntheses.
    factors: list[int] = field(default_factory=list)
    factor_of: dict[int, int] = field(default_factory=dict)
    case_summaries: dict[int, str] = field(default_factory=dict)
    syntheses: dict[int, str] = field(default_factory=dict)

    @property
    def n_excerpts(self) -> int:
        return len(self.excerpts)


def collect(
    project: Project,
    codings: CodingQuerySet,
    *,
    memos: bool = False,
    context: bool = False,
    context_words: int | None = None,
    progress: Callable[[int], None] | None = None,
    viewer: Membership | None = None,
    merged: bool = False,
) -> ExportData:
    """Read the rows for an export of ``codings`` (which must belong to ``project``), as
    ``viewer`` may see them (blind coding: ``CodingQuerySet.visible_to``).

    ``context_words``: keep only that many words of context on each side (what the writer
    shows), so the rows of a long export do not hold 400 characters twice per excerpt.
    ``merged`` (the coder basis): overlapping excerpts of the same code are one passage
    (``CodingQuerySet.passage_rows``), quoted once under that code as the text of their union,
    with every coder of them; an excerpt on its own stays as it is."""
    progress = progress or (lambda pct: None)
    codings = codings.filter(tag__codebook__project=project).visible_to(viewer).order_by()
    excerpt_ids = codings.values("content_object_id")

    codes = [
        CodeRow(
            id=c.pk,
            name=c.name,
            parent_id=c.parent_id,
            depth=c.depth,
            definition=c.definition,
            inclusion=c.inclusion,
            exclusion=c.exclusion,
            example=c.example,
        )
        for c in Code.objects.filter(codebook__project=project).in_tree_order()
    ]
    code_rank = {c.id: i for i, c in enumerate(codes)}

    informants: dict[int, InformantRow] = {}
    by_case: dict[int, list[InformantRow]] = defaultdict(list)
    for inf in Informant.objects.filter(case__project=project).order_by("case", "pseudonym"):
        row = InformantRow(inf.pk, inf.pseudonym, inf.role_title, str(inf.get_level_display()))
        informants[inf.pk] = row
        by_case[inf.case_id].append(row)

    # By case id (the filter leaves out the informants' values, whose case_id is None).
    attributes: dict[int | None, list[tuple[str, str]]] = defaultdict(list)
    for v in (
        AttributeValue.objects.filter(case__project=project)
        .select_related("definition")
        .order_by("definition__order", "definition__name")
    ):
        shown = v.display()
        if shown:
            attributes[v.case_id].append((v.definition.name, shown))

    cases = [
        CaseRow(
            id=c.pk,
            name=c.name,
            kind=str(c.get_kind_display()),
            description=c.description,
            attributes=tuple(attributes[c.pk]),
            informants=tuple(by_case[c.pk]),
        )
        for c in Case.objects.filter(project=project)
    ]
    case_rank = {c.id: i for i, c in enumerate(cases)}
    progress(10)

    # Who applied which code to which excerpt, within the selection.
    # A coding of the consensus layer names the researcher who decided it as such, never as
    # if they had coded the passage (its ``coder`` is the decider).
    coders: dict[tuple[int, int], set[Who]] = defaultdict(set)
    whos: dict[Who, Who] = {}  # one tuple per author, not one per coding (memory)
    for code_id, excerpt_id, coder_id, layer in codings.values_list(
        "tag_id", "content_object_id", "coder_id", "layer"
    ).iterator(chunk_size=5000):
        who = (coder_id, layer)
        coders[(code_id, excerpt_id)].add(whos.setdefault(who, who))
    names = {
        u.pk: display_name(u)
        for u in get_user_model().objects.filter(pk__in=codings.values("coder_id"))
    }
    users: dict[Who, str] = {}
    for who in whos:
        name = names[who[0]]
        users[who] = (
            gettext("consensus passage, decided by %(who)s") % {"who": name}
            if who[1] == CodingLayer.CONSENSUS
            else name
        )
    progress(20)

    # Every code each selected excerpt carries (also codes outside the selection).
    carried: dict[int, set[int]] = defaultdict(set)
    carried_qs = Coding.objects.filter(content_object_id__in=excerpt_ids).visible_to(viewer)
    for excerpt_id, code_id in carried_qs.values_list("content_object_id", "tag_id"):
        carried[excerpt_id].add(code_id)

    memo_rows: dict[int | None, list[MemoRow]] = defaultdict(list)
    if memos:
        for m in (
            Memo.objects.filter(excerpt_id__in=excerpt_ids)
            .visible_to(viewer)
            .select_related("author")
            .order_by("created_at")
        ):
            memo_rows[m.excerpt_id].append(MemoRow(display_name(m.author), m.text))

    transcript_ids = Excerpt.objects.filter(pk__in=excerpt_ids).values("transcript_id")
    # In the transcripts' own order (case, interview date, title): the rank sorts excerpts.
    transcripts: dict[int, dict[str, Any]] = {}
    transcript_rank: dict[int, int] = {}
    for i, tr in enumerate(
        Transcript.objects.filter(pk__in=transcript_ids).values("pk", "title", "case_id")
    ):
        transcripts[tr["pk"]] = {"pk": tr["pk"], "title": tr["title"], "case_id": tr["case_id"]}
        transcript_rank[tr["pk"]] = i
    listed: dict[int, list[int]] = defaultdict(list)
    for t_id, i_id in Transcript.informants.through.objects.filter(
        transcript_id__in=transcript_ids
    ).values_list("transcript_id", "informant_id"):
        listed[t_id].append(i_id)
    # The turns carry who speaks.
    turns: dict[int, tuple[list[int], list[tuple[int, int | None, bool]]]] = {}
    for t_id, start, end, i_id, interviewer in (
        Turn.objects.filter(transcript_id__in=transcript_ids)
        .order_by("transcript_id", "start")
        .values_list("transcript_id", "start", "end", "informant_id", "is_interviewer")
    ):
        starts, spans = turns.setdefault(t_id, ([], []))
        starts.append(start)
        spans.append((end, i_id, interviewer))
    progress(35)

    fields = ["pk", "transcript_id", "start", "end", "text", "paragraph"]
    excerpts_qs = Excerpt.objects.filter(pk__in=excerpt_ids).order_by("transcript_id")
    # Context is sliced from each transcript's text, read once and one at a time beside the
    # excerpts (both in transcript order): an SQL substring per excerpt made the database walk
    # the transcript's text from its start for every excerpt, twice.
    texts: Iterator[tuple[int, str]] = iter(())
    if context:
        texts = (
            Transcript.objects.filter(pk__in=transcript_ids)
            .order_by("pk")
            .values_list("pk", "text")
            .iterator(chunk_size=20)
        )
    text_of: tuple[int | None, str] = (None, "")
    excerpts: dict[int, ExcerptRow] = {}
    for e in excerpts_qs.values(*fields).iterator(chunk_size=2000):
        t = transcripts[e["transcript_id"]]
        speakers = _speakers(e, turns.get(e["transcript_id"]), listed[e["transcript_id"]])
        before = after = ""
        if context:
            while text_of[0] != e["transcript_id"]:
                text_of = next(texts)
            text = text_of[1]
            before = text[max(0, e["start"] - CONTEXT_CHARS) : e["start"]]
            after = text[e["end"] : e["end"] + CONTEXT_CHARS]
            if context_words:
                before = words_before(before, context_words)
                after = words_after(after, context_words)
        excerpts[e["pk"]] = ExcerptRow(
            id=e["pk"],
            case_id=t["case_id"],
            transcript_title=t["title"],
            paragraph=e["paragraph"],
            text=e["text"],
            informants=tuple(informants[i] for i in speakers if i in informants),
            code_ids=tuple(sorted(carried[e["pk"]], key=lambda c: code_rank.get(c, 1 << 30))),
            memos=tuple(memo_rows.get(e["pk"], ())),
            before=before,
            after=after,
            sort_key=(
                case_rank.get(t["case_id"], 1 << 30),
                transcript_rank[e["transcript_id"]],
                e["start"],
                e["end"],
            ),
        )
    progress(60)

    placements = [
        (code_id, excerpt_id, tuple(sorted(users[c] for c in coder_ids)))
        for (code_id, excerpt_id), coder_ids in coders.items()
        if excerpt_id in excerpts
    ]
    if merged:
        placements = _merge_passages(codings, excerpts, coders, users)
    return ExportData(
        project_name=project.name,
        project_description=project.description,
        codes=codes,
        cases=cases,
        excerpts=excerpts,
        placements=placements,
    )


def _merge_passages(
    codings: QuerySet[Coding],
    excerpts: dict[int, ExcerptRow],
    coders: dict[tuple[int, int], set[Who]],
    users: dict[Who, str],
) -> list[tuple[int, int, tuple[str, ...]]]:
    """The placements of a merged export: one per passage of a code. A passage of several
    excerpts gets an ExcerptRow of its own (a negative id) holding the union's text, and
    the excerpts that no placement quotes any more leave ``excerpts`` (changed in place)."""
    members: dict[tuple[int, int, int], list[int]] = defaultdict(list)
    for ex, tr, st, _en, code_id in codings.passage_rows(by_code=True):  # type: ignore[attr-defined]
        if ex in excerpts:
            members[(code_id, tr, st)].append(ex)
    placements: list[tuple[int, int, tuple[str, ...]]] = []
    quoted: set[int] = set()
    merged_rows: dict[int, ExcerptRow] = {}
    for (code_id, _tr, _st), ids in members.items():
        names = tuple(sorted({users[c] for ex in ids for c in coders.get((code_id, ex), ())}))
        if len(ids) == 1:
            placements.append((code_id, ids[0], names))
            quoted.add(ids[0])
            continue
        rows = sorted((excerpts[ex] for ex in ids), key=lambda r: r.sort_key)
        row = _union_row(rows, -(len(merged_rows) + 1))
        merged_rows[row.id] = row
        placements.append((code_id, row.id, names))
    for ex in [ex for ex in excerpts if ex not in quoted]:
        del excerpts[ex]
    excerpts.update(merged_rows)
    return placements


def _union_row(rows: list[ExcerptRow], new_id: int) -> ExcerptRow:
    """One ExcerptRow for overlapping excerpts (in text order): their union's text, built from
    the excerpts' copies of the transcript text, their speakers, codes and memos."""
    first = rows[0]
    # sort_key is (case, transcript, start, end).
    text, end = first.text, first.sort_key[3]
    after = first.after
    for r in rows[1:]:
        start, r_end = r.sort_key[2], r.sort_key[3]
        if r_end > end:
            text += r.text[end - start :]
            end, after = r_end, r.after
    return ExcerptRow(
        id=new_id,
        case_id=first.case_id,
        transcript_title=first.transcript_title,
        paragraph=first.paragraph,
        text=text,
        informants=tuple(dict.fromkeys(i for r in rows for i in r.informants)),
        code_ids=tuple(dict.fromkeys(c for r in rows for c in r.code_ids)),
        memos=tuple(m for r in rows for m in r.memos),
        before=first.before,
        after=after,
        sort_key=(*first.sort_key[:3], end),
    )


def _speakers(
    e: dict[str, Any],
    turns: tuple[list[int], list[tuple[int, int | None, bool]]] | None,
    listed: list[int],
) -> list[int]:
    """Informants speaking in the excerpt (who speaks: ``analysis.selection.speakers``)."""
    overlapped: list[tuple[int | None, bool]] = []
    if turns:
        starts, spans = turns
        i = max(0, bisect.bisect_right(starts, e["start"]) - 1)
        while i < len(starts) and starts[i] < e["end"]:
            end, informant_id, interviewer = spans[i]
            if end > e["start"]:
                overlapped.append((informant_id, interviewer))
            i += 1
    return selection.speakers(overlapped, listed)


def framework_summaries(project: Project) -> dict[tuple[int, int], str]:
    """(case id, code id) -> the summary written for that framework matrix cell."""
    return {
        (case_id, code_id): text
        for case_id, code_id, text in FrameworkSummary.objects.filter(
            project=project, case__isnull=False, code__isnull=False
        )
        .exclude(text="")
        .values_list("case_id", "code_id", "text")
    }


def report_summaries(project: Project) -> tuple[dict[int, str], dict[int, str]]:
    """The case summaries (case id -> text) and cross-case syntheses (code id -> text)."""
    cases: dict[int, str] = {}
    codes: dict[int, str] = {}
    for case_id, code_id, text in (
        FrameworkSummary.objects.filter(project=project)
        .filter(Q(case__isnull=True) | Q(code__isnull=True))
        .exclude(text="")
        .values_list("case_id", "code_id", "text")
    ):
        if code_id is None:
            cases[case_id] = text
        else:
            codes[code_id] = text
    return cases, codes


def words_before(text: str, n: int) -> str:
    """The last ``n`` words of ``text`` (the context before a quote), "… " if some are cut.
    Cutting what it returned again returns the same."""
    words = text.split()
    cut = words[-n:]
    return ("… " if len(words) > n else "") + " ".join(cut)


def words_after(text: str, n: int) -> str:
    """The first ``n`` words of ``text`` (the context after a quote), " …" if some are cut."""
    words = text.split()
    return " ".join(words[:n]) + (" …" if len(words) > n else "")
