"""The Word export of memos: a chapter per code (``memos-by-code``) or per case
(``memos-by-case``) with the memos that belong there, each with its own passage and its "see
also" passages quoted, every quote with the source line the other layouts write.

The memos are those of the memo overview's filter (``memo_overview.filtered``; the job keeps the
filter's fields in ``params["memo_filters"]``). A memo belongs to a code when it is on the code,
links to it, or is on a passage coded with it; to a case when it is on the case, links to it, or
is on one of the case's transcripts or passages. A memo that belongs to no chapter (a project
memo; a case memo in the export by code) is in a last chapter, "Other memos". Every chapter and
section is written, empty or not: an empty one says so.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, BinaryIO

from django.core.exceptions import ValidationError
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from coding.analysis import memo_overview
from coding.exports import rows
from coding.exports.ooxml import Run
from coding.exports.word import (
    LAYOUT_MEMOS_BY_CASE,
    STYLE_SOURCE,
    ExportOptions,
    ExportStats,
    _Document,
    write_word,
)
from coding.forms import MemoFilterForm
from coding.models import Coding, Excerpt, Membership, Memo, Project
from coding.people import display_name


@dataclass(frozen=True, slots=True)
class MemoRow:
    id: int
    kind: str  # "excerpt", "transcript", "case", "code" or "project"
    title: str
    text: str
    author: str
    updated: dt.datetime
    type_name: str
    case_id: int | None  # its case: the case itself, or its transcript's or passage's case
    code_id: int | None
    excerpt_id: int | None
    transcript_title: str = ""
    links_code: tuple[int, ...] = ()
    links_case: tuple[int, ...] = ()
    links_excerpt: tuple[int, ...] = ()


@dataclass
class MemoExportData(rows.ExportData):
    """The rows of a memo export: the memos, and as in every export the codes, cases and the
    passages quoted (each memo's own and linked passages); ``placements`` stay empty."""

    memos: list[MemoRow] = field(default_factory=list)
    coders: dict[int, tuple[str, ...]] = field(default_factory=dict)  # excerpt id -> names
    only_case: int | None = None  # the filter's case or code: the export has that chapter only
    only_code: int | None = None


def memo_filter(project: Project, filters: Mapping[str, Any] | None) -> MemoFilterForm:
    """The memo overview's filter form bound to ``filters``; ValidationError if they no longer
    fit the project (a code or case deleted since)."""
    form = MemoFilterForm(dict(filters or {}), project=project)
    if not form.is_valid():
        raise ValidationError(
            [str(e) for errors in form.errors.values() for e in errors], code="memo_filter"
        )
    return form


def describe(form: MemoFilterForm) -> list[tuple[str, str]]:
    """(label, value) lines of the filter's set fields, for the title page."""
    out = []
    for name, value in form.cleaned_data.items():
        if value in (None, ""):
            continue
        bound = form[name]
        choices = dict(getattr(form.fields[name], "choices", ()))
        shown = choices.get(value, value)
        if isinstance(value, dt.date):
            shown = formats.date_format(value, "SHORT_DATE_FORMAT")
        out.append((str(bound.label), str(shown).strip()))
    return out


def collect(
    project: Project, form: MemoFilterForm, *, viewer: Membership | None = None
) -> MemoExportData:
    """Read the memos the (valid) filter keeps, and the passages they quote, as ``viewer``
    may see them (blind coding; None: everything, the command line)."""
    memos: Iterable[Memo] = memo_overview.filtered(project, form.cleaned_data, viewer=viewer)
    memo_rows = []
    passage_ids: set[int] = set()
    for m in memos:
        links = list(m.links.all())
        transcript = m.excerpt.transcript if m.excerpt else m.transcript
        case_id = m.case_id or (transcript.case_id if transcript else None)
        memo_rows.append(
            MemoRow(
                id=m.pk,
                kind=m.kind,
                title=m.title,
                text=m.text,
                author=display_name(m.author),
                updated=m.updated_at,
                type_name=m.memo_type.name if m.memo_type else "",
                case_id=case_id,
                code_id=m.code_id,
                excerpt_id=m.excerpt_id,
                transcript_title=transcript.title if transcript else "",
                links_code=tuple(link.code_id for link in links if link.code_id),
                links_case=tuple(link.case_id for link in links if link.case_id),
                links_excerpt=tuple(link.excerpt_id for link in links if link.excerpt_id),
            )
        )
        passage_ids.update(x for x in (m.excerpt_id, *memo_rows[-1].links_excerpt) if x)
    # The passages quoted, read as every export reads its excerpts (source lines, codes).
    # Memos and their links are a few hundred: the ids travel as one parameter list.
    ids = sorted(passage_ids)
    data = rows.collect(project, Coding.objects.filter(content_object_id__in=ids), viewer=viewer)
    coders: dict[int, set[str]] = defaultdict(set)
    for _code_id, excerpt_id, names in data.placements:
        coders[excerpt_id].update(names)
    # A passage kept for its memo after its last code was removed: quoted without codes.
    missing = [pk for pk in ids if pk not in data.excerpts]
    for e in (
        Excerpt.objects.filter(pk__in=missing)
        .select_related("transcript")
        .defer("transcript__text")
    ):
        data.excerpts[e.pk] = rows.ExcerptRow(
            id=e.pk,
            case_id=e.transcript.case_id,
            transcript_title=e.transcript.title,
            paragraph=e.paragraph,
            text=e.text,
            sort_key=(0, e.transcript_id, e.start, e.end),
        )
    d = form.cleaned_data
    shared = {f.name: getattr(data, f.name) for f in fields(data) if f.name != "placements"}
    return MemoExportData(
        **shared,
        memos=memo_rows,
        coders={k: tuple(sorted(v)) for k, v in coders.items()},
        only_case=d.get("case"),
        only_code=d.get("code"),
    )


def export_memos(
    fh: BinaryIO,
    *,
    project: Project,
    params: dict[str, Any],
    options: ExportOptions,
    template: BinaryIO | None = None,
    progress: Callable[[int], None] | None = None,
    viewer: Membership | None = None,
) -> ExportStats:
    """The memo export of ``params["memo_filters"]`` written to ``fh`` (the job's and the
    command's body for the memo layouts)."""
    progress = progress or (lambda pct: None)
    form = memo_filter(project, params.get("memo_filters"))
    data = collect(project, form, viewer=viewer)
    options.filters = [
        *(describe(form) or [(_("Selection"), _("all memos"))]),
        (_("Memos"), formats.number_format(len(data.memos), 0, None, True)),
    ]
    options.memos = False  # a quoted passage's memos are the chapters' memos themselves
    progress(30)
    stats = write_word(
        fh,
        data,
        options,
        template=template,
        progress=lambda pct: progress(30 + pct * 65 // 100),
        document=MemoDocument,
    )
    stats.memos = len(data.memos)
    return stats


class MemoDocument(_Document):
    """The memo layouts, over a MemoExportData."""

    data: MemoExportData

    def _layout(self) -> None:
        export = self.data
        self.memo_labels = {
            "by": _("Memo by %(author)s"),
            "passage": _("The passage"),
            "see_also": _("See also"),
        }
        placed: set[int] = set()
        if self.options.layout == LAYOUT_MEMOS_BY_CASE:
            for case in self.data.cases:
                if export.only_case and case.id != export.only_case:
                    continue
                placed |= self._case_chapter(case)
        else:
            for code in self.data.codes:
                if export.only_code and code.id != export.only_code:
                    continue
                placed |= self._code_chapter(code)
        rest = [m for m in export.memos if m.id not in placed]
        if rest or not (export.only_case or export.only_code):
            self.heading(_("Other memos"), 1)
            self._memos(rest, _("No other memos."))

    def _case_chapter(self, case: rows.CaseRow) -> set[int]:
        memos = self.data.memos
        self.heading(case.name, 1)
        self.writer.paragraph(Run(case.kind, italic=True, muted=True))
        parts = [
            (
                _("Memos on the case"),
                [m for m in memos if m.kind == "case" and m.case_id == case.id]
                + [m for m in memos if case.id in m.links_case],
                _("No memo on this case."),
            ),
            (
                _("Memos on its transcripts"),
                [m for m in memos if m.kind == "transcript" and m.case_id == case.id],
                _("No memo on its transcripts."),
            ),
            (
                _("Memos on its passages"),
                self._by_passage(
                    [m for m in memos if m.kind == "excerpt" and m.case_id == case.id]
                ),
                _("No memo on its passages."),
            ),
        ]
        return self._parts(parts)

    def _code_chapter(self, code: rows.CodeRow) -> set[int]:
        memos, excerpts = self.data.memos, self.data.excerpts
        self.heading(code.name, 1)
        if code.definition:
            self.writer.paragraph([Run(f"{_('Definition')}: ", bold=True), code.definition])

        def coded(m: MemoRow) -> bool:
            e = excerpts.get(m.excerpt_id) if m.excerpt_id else None
            return e is not None and code.id in e.code_ids

        parts = [
            (
                _("Memos on the code"),
                [m for m in memos if m.code_id == code.id]
                + [m for m in memos if code.id in m.links_code and m.code_id != code.id],
                _("No memo on this code."),
            ),
            (
                _("Memos on its passages"),
                self._by_passage([m for m in memos if m.kind == "excerpt" and coded(m)]),
                _("No memo on a passage coded with it."),
            ),
        ]
        return self._parts(parts)

    def _parts(self, parts: list[tuple[str, list[MemoRow], str]]) -> set[int]:
        placed: set[int] = set()
        for title, memos, empty in parts:
            self.heading(title, 2)
            self._memos(memos, empty)
            placed.update(m.id for m in memos)
        return placed

    def _by_passage(self, memos: list[MemoRow]) -> list[MemoRow]:
        """Passage memos in the transcripts' order."""
        excerpts = self.data.excerpts

        def key(m: MemoRow) -> tuple[Any, ...]:
            e = excerpts.get(m.excerpt_id) if m.excerpt_id else None
            return e.sort_key if e else (1 << 30,)

        return sorted(memos, key=key)

    def _memos(self, memos: list[MemoRow], empty: str) -> None:
        if not memos:
            self.writer.paragraph(Run(empty, italic=True, muted=True))
            return
        for m in memos:
            self._memo(m)

    def _memo(self, m: MemoRow) -> None:
        w = self.writer
        w.heading(m.title or self.memo_labels["by"] % {"author": m.author}, 3)
        when = formats.date_format(timezone.localtime(m.updated), "SHORT_DATE_FORMAT")
        meta = [m.author, when, *([m.type_name] if m.type_name else [])]
        w.paragraph(Run(" · ".join(meta), italic=True, muted=True), STYLE_SOURCE)
        for para in m.text.strip().split("\n\n"):
            w.paragraph(para)
        excerpts = self.data.excerpts
        if m.excerpt_id and m.excerpt_id in excerpts:
            w.paragraph(Run(self.memo_labels["passage"], bold=True))
            self._excerpt(excerpts[m.excerpt_id], self.data.coders.get(m.excerpt_id, ()))
        elif m.kind == "transcript":
            w.paragraph([Run(f"{_('Transcript')}: ", bold=True), m.transcript_title])
        codes = [self.codes[c].name for c in m.links_code if c in self.codes]
        cases = [self.cases[c].name for c in m.links_case if c in self.cases]
        passages = [excerpts[e] for e in m.links_excerpt if e in excerpts]
        if codes or cases or passages:
            w.paragraph(Run(self.memo_labels["see_also"], bold=True))
        if codes:
            label = ngettext("Code", "Codes", len(codes))
            w.paragraph([Run(f"{label}: ", italic=True), "; ".join(codes)])
        if cases:
            # Not ngettext: "Case" is a msgid of its own (a label) all over the catalogue.
            label = _("Case") if len(cases) == 1 else _("Cases")
            w.paragraph([Run(f"{label}: ", italic=True), "; ".join(cases)])
        for e in sorted(passages, key=lambda e: e.sort_key):
            self._excerpt(e, self.data.coders.get(e.id, ()))
