"""The Word export: lays out ``ExportData`` rows as a .docx written to a file object.

No request, no broker, no database: ``write_word`` takes rows (``rows.collect`` reads them) and
an ``ExportOptions``. Labels come from Django i18n in the active language (the job activates the
language the researcher chose). Headings use Word's built-in Heading 1-3 styles and quotes the
built-in Quote style, so a researcher's template restyles the whole document; the few styles of
our own ("Excerpt Source", "Excerpt Context", "Excerpt Memo", "Export Detail") are defined only
when the template lacks them, so a template may define them too.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any, BinaryIO

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from docx.shared import Pt

from coding.exports.ooxml import DocxWriter, Run
from coding.exports.rows import CaseRow, CodeRow, ExcerptRow, ExportData, words_after, words_before
from coding.models import CodeHierarchy

LAYOUT_BY_CODE = "by-code"
LAYOUT_BY_CASE = "by-case"
LAYOUT_SELECTION = "selection"
LAYOUT_FRAMEWORK = "framework"
LAYOUT_REPORT = "report"
# The memos of the memo overview's filter (coding/exports/memos.py writes them).
LAYOUT_MEMOS_BY_CODE = "memos-by-code"
LAYOUT_MEMOS_BY_CASE = "memos-by-case"
MEMO_LAYOUTS = (LAYOUT_MEMOS_BY_CODE, LAYOUT_MEMOS_BY_CASE)
LAYOUTS = (
    LAYOUT_BY_CODE,
    LAYOUT_BY_CASE,
    LAYOUT_SELECTION,
    LAYOUT_FRAMEWORK,
    LAYOUT_REPORT,
    *MEMO_LAYOUTS,
)

STYLE_SOURCE = "Excerpt Source"
STYLE_CONTEXT = "Excerpt Context"
STYLE_MEMO = "Excerpt Memo"
STYLE_DETAIL = "Export Detail"
STYLE_TABLE_TEXT = "Export Table Text"

# Codes per framework table: more columns than this become a second table for the same group.
FRAMEWORK_MAX_COLUMNS = 5
# Left indent (points) of quotes and the lines that go with them.
INDENT = 24
# Report progress every this many excerpts written.
PROGRESS_EVERY = 250


@dataclass
class ExportOptions:
    layout: str = LAYOUT_BY_CODE
    memos: bool = False
    context_words: int = 0
    codebook: bool = True
    # Framework layout: the excerpts behind the matrix as an appendix.
    excerpts_appendix: bool = True
    # (label, value) lines describing the selection, for the title page.
    filters: list[tuple[str, str]] = field(default_factory=list)
    made_by: str = ""
    made_at: dt.datetime | None = None
    # Proofing language of the document text (the transcripts' language).
    text_language: str = "nb-NO"


@dataclass
class ExportStats:
    excerpts: int = 0  # distinct excerpts in the export
    quotes: int = 0  # excerpt blocks written (an excerpt under two codes is quoted twice)
    chapters: int = 0  # Heading 1 chapters before the codebook appendix
    memos: int = 0  # memos written (the memo layouts)


def layout_title(layout: str) -> str:
    return {
        LAYOUT_BY_CODE: _("Coded excerpts by code"),
        LAYOUT_BY_CASE: _("Coded excerpts by case"),
        LAYOUT_SELECTION: _("Selected coded excerpts"),
        LAYOUT_FRAMEWORK: _("Framework matrix"),
        LAYOUT_REPORT: _("Report skeleton"),
        LAYOUT_MEMOS_BY_CODE: _("Memos by code"),
        LAYOUT_MEMOS_BY_CASE: _("Memos by case"),
    }[layout]


def write_word(
    fh: BinaryIO,
    data: ExportData,
    options: ExportOptions,
    *,
    template: BinaryIO | None = None,
    progress: Callable[[int], None] | None = None,
    document: type[_Document] | None = None,
) -> ExportStats:
    """Write the export of ``data`` as a .docx to ``fh``; ``progress`` gets 0-100.
    ``document`` lays out a layout of its own (a subclass of ``_Document``, e.g. the memos')."""
    if options.layout not in LAYOUTS:
        raise ValueError(f"unknown layout {options.layout!r}")
    doc = (document or _Document)(
        DocxWriter(template), data, options, progress or (lambda pct: None)
    )
    doc.write()
    # File > Properties names the study and the person, not the template's author.
    doc.writer.set_properties(
        title=f"{data.project_name} – {layout_title(options.layout)}",
        author=options.made_by,
        language=options.text_language,
        when=options.made_at or timezone.now(),
    )
    doc.writer.save(fh)
    doc.progress(100)
    return doc.stats


class _Document:
    """One export being written: the writer, the rows, and the headings for the contents."""

    def __init__(
        self,
        writer: DocxWriter,
        data: ExportData,
        options: ExportOptions,
        progress: Callable[[int], None],
    ) -> None:
        self.writer = writer
        self.data = data
        self.options = options
        self.progress = progress
        self.stats = ExportStats(excerpts=data.n_excerpts)
        self.toc_entries: list[tuple[int, str]] = []
        self.codes = {c.id: c for c in data.codes}
        self.cases = {c.id: c for c in data.cases}
        self._written = 0
        self._to_write = max(1, len(data.placements))
        # Labels repeated on every excerpt, translated once (gettext per excerpt was a fifth of
        # the time of a 10,000-excerpt export).
        self.labels = {
            "before": _("Context before") + ": ",
            "after": _("Context after") + ": ",
            "where": _("“%(title)s”, paragraph %(n)s"),
            "memo": _("Memo by %(author)s"),
        }
        self._plurals: dict[tuple[str, int], str] = {}

    # --- the document ---------------------------------------------------------------------

    def write(self) -> None:
        self._styles()
        self.writer.set_language(self.options.text_language)
        self.writer.page_number_footer()
        self._title_page()
        toc = self.writer.toc(
            _("Contents"),
            _("Open the file in Word and update the field to see the table of contents."),
            # Chapters only, but the framework's matrix groups and appendix codes are level 2;
            # Word's navigation pane shows every level anyway.
            levels=2 if self.options.layout in (LAYOUT_FRAMEWORK, LAYOUT_REPORT) else 1,
        )
        layout = self.options.layout
        if layout != LAYOUT_FRAMEWORK:  # the framework's landscape section starts a page itself
            self.writer.page_break()
        self._layout()
        chapters = self.stats.chapters  # the appendix is not a chapter of the report
        if self.options.codebook:
            self.writer.page_break()
            self._codebook()
        self.stats.chapters = chapters
        toc.fill(self.toc_entries)
        self.progress(95)

    def _layout(self) -> None:
        """The chapters of the layout (a subclass adds a layout of its own here)."""
        layout = self.options.layout
        if layout == LAYOUT_BY_CASE:
            self._by_case()
        elif layout == LAYOUT_FRAMEWORK:
            self._framework()
        elif layout == LAYOUT_REPORT:
            self._report()
        else:
            self._by_code(level=1)

    def _styles(self) -> None:
        s = self.writer.styles
        # Context and quote keep with the next paragraph, so a quote never stands on one page
        # and its source line on the next.
        s.add_paragraph_style(
            STYLE_SOURCE, size=9, color="595959", space_before=0, space_after=12, indent=INDENT
        )
        s.add_paragraph_style(
            STYLE_CONTEXT,
            size=9,
            italic=True,
            color="7F7F7F",
            space_after=2,
            indent=INDENT,
            keep_with_next=True,
        )
        s.add_paragraph_style(STYLE_MEMO, size=9, space_after=12, indent=INDENT)
        s.add_paragraph_style(STYLE_DETAIL, size=11, space_after=4)
        s.add_paragraph_style(STYLE_TABLE_TEXT, size=9, space_before=0, space_after=0)
        for level in (1, 2, 3):
            s.add_paragraph_style(f"toc {level}", space_after=2, indent=(level - 1) * 11)
        if not self.writer.uses_template:
            # python-docx's Quote is bare italics; line it up with the source line. A user's
            # template keeps its own Quote untouched.
            quote = self.writer.document.styles["Quote"].paragraph_format
            quote.left_indent = Pt(INDENT)
            quote.right_indent = Pt(INDENT / 2)
            quote.space_before = Pt(6)
            quote.space_after = Pt(3)
            quote.keep_with_next = True

    def heading(self, text: str, level: int) -> None:
        self.writer.heading(text, level)
        self.toc_entries.append((level, text))
        if level == 1:
            self.stats.chapters += 1

    def _title_page(self) -> None:
        w, data, opts = self.writer, self.data, self.options
        w.paragraph(data.project_name, "Title")
        w.paragraph(layout_title(opts.layout), "Subtitle")
        selection = opts.filters or [(_("Selection"), _("all coded excerpts"))]
        for label, value in selection:
            w.paragraph([Run(f"{label}: ", bold=True), value], STYLE_DETAIL)
        w.paragraph(
            [
                Run(_("Excerpts") + ": ", bold=True),
                formats.number_format(data.n_excerpts, 0, None, True),
            ],
            STYLE_DETAIL,
        )
        if opts.made_by:
            w.paragraph([Run(_("Made by") + ": ", bold=True), opts.made_by], STYLE_DETAIL)
        made_at = timezone.localtime(opts.made_at or timezone.now())
        w.paragraph(
            [Run(_("Made") + ": ", bold=True), formats.date_format(made_at, "DATETIME_FORMAT")],
            STYLE_DETAIL,
        )
        if data.project_description:
            w.paragraph("")
            w.paragraph(Run(data.project_description, italic=True))
        w.page_break()

    # --- excerpts -------------------------------------------------------------------------

    def _placements_by(
        self, key: Callable[[int, ExcerptRow], int]
    ) -> dict[int, list[tuple[ExcerptRow, tuple[str, ...], int]]]:
        groups: dict[int, list[tuple[ExcerptRow, tuple[str, ...], int]]] = defaultdict(list)
        for code_id, excerpt_id, coders in self.data.placements:
            excerpt = self.data.excerpts[excerpt_id]
            groups[key(code_id, excerpt)].append((excerpt, coders, code_id))
        for items in groups.values():
            items.sort(key=lambda item: item[0].sort_key)
        return groups

    def _excerpt(self, excerpt: ExcerptRow, coders: Iterable[str]) -> None:
        w, opts = self.writer, self.options
        n = opts.context_words
        if n and excerpt.before.strip():
            w.paragraph(
                [Run(self.labels["before"], bold=True), words_before(excerpt.before, n)],
                STYLE_CONTEXT,
            )
        w.paragraph(excerpt.text, "Quote")
        if n and excerpt.after.strip():
            w.paragraph(
                [Run(self.labels["after"], bold=True), words_after(excerpt.after, n)],
                STYLE_CONTEXT,
            )
        w.paragraph(self._source_line(excerpt, coders), STYLE_SOURCE)
        if opts.memos:
            for memo in excerpt.memos:
                label = self.labels["memo"] % {"author": memo.author}
                w.paragraph([Run(f"{label}: ", bold=True), memo.text], STYLE_MEMO)
        self.stats.quotes += 1
        self._written += 1
        if self._written % PROGRESS_EVERY == 0:
            self.progress(5 + 90 * self._written // self._to_write)

    def plural(self, which: str, n: int) -> str:
        key = (which, n)
        if key not in self._plurals:
            if which == "Coder":
                # "Coded by", not "Coder": in Norwegian "Koder" is both a coder and codes, and
                # the source line names both.
                self._plurals[key] = pgettext("source line", "Coded by")
            else:
                self._plurals[key] = ngettext("Code", "Codes", n)
        return self._plurals[key]

    def _source_line(self, e: ExcerptRow, coders: Iterable[str]) -> list[Run]:
        case = self.cases.get(e.case_id)
        parts: list[Run] = [Run(case.name if case else "", bold=True)]
        if e.informants:
            parts.append(Run(" · " + "; ".join(i.describe() for i in e.informants)))
        where = self.labels["where"] % {"title": e.transcript_title, "n": e.paragraph}
        parts.append(Run(" · " + where))
        coders = list(coders)
        if coders:
            label = self.plural("Coder", len(coders))
            parts += [Run(f" · {label}: ", italic=True), Run(", ".join(coders))]
        names = [self.codes[c].name for c in e.code_ids if c in self.codes]
        if names:
            label = self.plural("Code", len(names))
            parts += [Run(f" · {label}: ", italic=True), Run("; ".join(names))]
        return parts

    # --- layouts --------------------------------------------------------------------------

    def _by_code(self, level: int) -> None:
        """A chapter per code (with its definition), a section per case, the excerpts."""
        groups = self._placements_by(lambda code_id, e: code_id)
        for code in self.data.codes:
            items = groups.get(code.id)
            if not items:
                continue
            self.heading(code.name, level)
            n_cases = len({e.case_id for e, _c, _k in items})
            meta = [self._count_line(len(items), n_cases)]
            parent = self.codes.get(code.parent_id) if code.parent_id else None
            if parent:
                meta.insert(0, _("Under “%(parent)s”") % {"parent": parent.name})
            self.writer.paragraph(Run(" · ".join(meta), italic=True, muted=True))
            if code.definition:
                self.writer.paragraph([Run(f"{_('Definition')}: ", bold=True), code.definition])
            for case_id, case_items in groupby(items, key=lambda item: item[0].case_id):
                case = self.cases.get(case_id)
                self.heading(case.name if case else "", level + 1)
                for excerpt, coders, _code in case_items:
                    self._excerpt(excerpt, coders)

    def _by_case(self) -> None:
        """A chapter per case (with its attributes and informants), a section per code."""
        groups = self._placements_by(lambda code_id, e: e.case_id)
        code_rank = {c.id: i for i, c in enumerate(self.data.codes)}
        for case in self.data.cases:
            items = groups.get(case.id)
            if not items:
                continue
            self.heading(case.name, 1)
            self._case_facts(case, items)
            items.sort(key=lambda item: (code_rank.get(item[2], 1 << 30), item[0].sort_key))
            for code_id, code_items in groupby(items, key=lambda item: item[2]):
                code = self.codes[code_id]
                self.heading(code.name, 2)
                for excerpt, coders, _code in code_items:
                    self._excerpt(excerpt, coders)

    def _case_facts(
        self, case: CaseRow, items: list[tuple[ExcerptRow, tuple[str, ...], int]]
    ) -> None:
        w = self.writer
        n_codes = len({code_id for _e, _c, code_id in items})
        n_excerpts = len({e.id for e, _c, _k in items})
        # Each number takes its own plural form.
        count = _("%(excerpts)s under %(codes)s") % {
            "excerpts": ngettext("%(n)s excerpt", "%(n)s excerpts", n_excerpts) % {"n": n_excerpts},
            "codes": ngettext("%(n)s code", "%(n)s codes", n_codes) % {"n": n_codes},
        }
        w.paragraph(Run(f"{case.kind} · {count}", italic=True, muted=True))
        if case.description:
            w.paragraph(case.description)
        if case.attributes:
            w.table(
                [(_("Attribute"), _("Value")), *case.attributes],
                widths=[2, 3],
                cell_style=STYLE_TABLE_TEXT,
            )
        if case.informants:
            w.table(
                [
                    (_("Informant"), _("Role"), _("Level")),
                    *((i.pseudonym, i.role, i.level) for i in case.informants),
                ],
                widths=[2, 3, 2],
                cell_style=STYLE_TABLE_TEXT,
            )

    def _report(self) -> None:
        """The skeleton of the evaluation report: a chapter per case (attributes, the case
        summary, a section per factor with the cell's summary and key quotes), a chapter per
        factor (the cross-case synthesis, each case's summary and key quotes). Every part is
        written, empty or not: an empty one says so."""
        data = self.data
        factors = [self.codes[pk] for pk in data.factors if pk in self.codes]
        quotes: dict[tuple[int, int], list[tuple[ExcerptRow, tuple[str, ...]]]] = defaultdict(list)
        seen: set[tuple[int, int, int]] = set()
        for code_id, excerpt_id, coders in data.placements:
            factor_id = data.factor_of.get(code_id)
            if factor_id is None:
                continue
            excerpt = data.excerpts[excerpt_id]
            key = (excerpt.case_id, factor_id, excerpt_id)
            if key in seen:  # one quote once per cell, under any sub-code
                continue
            seen.add(key)
            quotes[(excerpt.case_id, factor_id)].append((excerpt, coders))
        for items in quotes.values():
            items.sort(key=lambda item: item[0].sort_key)
        empty = {
            "case": _("No case summary written yet."),
            "cell": _("No summary written for this case and factor yet."),
            "synthesis": _("No cross-case synthesis written yet."),
            "quotes": _("No key quotes marked."),
        }
        for case in data.cases:
            self.heading(case.name, 1)
            self.writer.paragraph(Run(case.kind, italic=True, muted=True))
            if case.attributes:
                self.writer.table(
                    [(_("Attribute"), _("Value")), *case.attributes],
                    widths=[2, 3],
                    cell_style=STYLE_TABLE_TEXT,
                )
            self.heading(_("Case summary"), 2)
            self._text_or_note(data.case_summaries.get(case.id, ""), empty["case"])
            if not factors:
                self._text_or_note("", _("No factors in the codebook."))
            for factor in factors:
                self.heading(factor.name, 2)
                self._text_or_note(data.summaries.get((case.id, factor.id), ""), empty["cell"])
                self._key_quotes(quotes.get((case.id, factor.id), []), empty["quotes"])
        for factor in factors:
            self.heading(factor.name, 1)
            if factor.definition:
                self.writer.paragraph([Run(f"{_('Definition')}: ", bold=True), factor.definition])
            self.heading(_("Cross-case synthesis"), 2)
            self._text_or_note(data.syntheses.get(factor.id, ""), empty["synthesis"])
            for case in data.cases:
                self.heading(case.name, 2)
                self._text_or_note(data.summaries.get((case.id, factor.id), ""), empty["cell"])
                self._key_quotes(quotes.get((case.id, factor.id), []), empty["quotes"])

    def _text_or_note(self, text: str, note: str) -> None:
        text = text.strip()
        if not text:
            self.writer.paragraph(Run(note, italic=True, muted=True))
            return
        for para in text.split("\n\n"):
            self.writer.paragraph(para)

    def _key_quotes(self, items: list[tuple[ExcerptRow, tuple[str, ...]]], note: str) -> None:
        if not items:
            self.writer.paragraph(Run(note, italic=True, muted=True))
            return
        self.writer.paragraph(Run(_("Key quotes"), bold=True))
        for excerpt, coders in items:
            self._excerpt(excerpt, coders)

    def _framework(self) -> None:
        """The framework matrix (cases x codes, one table per group of codes) with summaries."""
        w, data = self.writer, self.data
        w.section_break(landscape=True)
        self.heading(_("Framework matrix"), 1)
        w.paragraph(
            Run(
                _(
                    "One row per case and one column per code; each cell holds the summary "
                    "written for it and the number of excerpts behind it."
                ),
                italic=True,
                muted=True,
            )
        )
        counts: dict[tuple[int, int], set[int]] = defaultdict(set)
        for code_id, excerpt_id, _coders in data.placements:
            counts[(data.excerpts[excerpt_id].case_id, code_id)].add(excerpt_id)
        for group, columns in self._framework_groups():
            # Six codes make two tables of three, not one of five and one of one.
            n_tables = -(-len(columns) // FRAMEWORK_MAX_COLUMNS)
            width = -(-len(columns) // n_tables)
            for start in range(0, len(columns), width):
                chunk = columns[start : start + width]
                title = group.name if group else _("Other codes")
                if start:
                    title = _("%(group)s (continued)") % {"group": title}
                self.heading(title, 2)
                rows: list[list[Any]] = [[_("Case"), *(c.name for c in chunk)]]
                for case in data.cases:
                    row: list[Any] = [Run(case.name, bold=True)]
                    for code in chunk:
                        row.append(self._framework_cell(case, code, counts))
                    rows.append(row)
                w.table(rows, widths=[2] + [3] * len(chunk), cell_style=STYLE_TABLE_TEXT)
        w.section_break(landscape=False)
        if self.options.excerpts_appendix and data.placements:
            self.heading(_("Appendix: excerpts behind the matrix"), 1)
            self._by_code(level=2)

    def _framework_cell(
        self, case: CaseRow, code: CodeRow, counts: dict[tuple[int, int], set[int]]
    ) -> list[Run]:
        summary = self.data.summaries.get((case.id, code.id), "").strip()
        n = len(counts.get((case.id, code.id), ()))
        runs = [Run(summary)] if summary else [Run("—", muted=True)]
        if n:
            label = ngettext("%(n)s excerpt", "%(n)s excerpts", n) % {"n": n}
            runs.append(Run(f"\n({label})", italic=True, muted=True))
        return runs

    def _framework_groups(self) -> list[tuple[CodeRow | None, list[CodeRow]]]:
        """Top-level codes with sub-codes become one group each; the rest share one group."""
        tree = CodeHierarchy(self.data.codes)
        groups: list[tuple[CodeRow | None, list[CodeRow]]] = []
        loose: list[CodeRow] = []
        for c in self.data.codes:
            if c.parent_id is not None:
                continue
            below = tree.below(c.id)
            if below:
                groups.append((c, below))
            else:
                loose.append(c)
        if loose:
            groups.append((None, loose))
        return groups

    def _count_line(self, n_excerpts: int, n_cases: int) -> str:
        # Each number takes its own plural form ("71 excerpts from 1 case").
        return _("%(excerpts)s from %(cases)s") % {
            "excerpts": ngettext("%(n)s excerpt", "%(n)s excerpts", n_excerpts) % {"n": n_excerpts},
            "cases": ngettext("%(n)s case", "%(n)s cases", n_cases) % {"n": n_cases},
        }

    # --- appendix -------------------------------------------------------------------------

    def _codebook(self) -> None:
        w = self.writer
        self.heading(_("Appendix: codebook"), 1)
        for code in self.data.codes:
            self.heading(code.name, 2 if code.depth == 0 else 3)
            fields = [
                (_("Definition"), code.definition),
                (_("When to use"), code.inclusion),
                (_("When not to use"), code.exclusion),
                (_("Example"), code.example),
            ]
            shown = [(label, value) for label, value in fields if value.strip()]
            if not shown:
                w.paragraph(Run(_("No definition written yet."), italic=True, muted=True))
            for label, value in shown:
                w.paragraph([Run(f"{label}: ", bold=True), value])
