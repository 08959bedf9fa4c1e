"""The analysis grids: cases × codes (or attribute × code), code co-occurrence, framework.

The numbers come from CodingQuerySet methods (one aggregate statement each); this module only
decides which rows and columns there are and reshapes the numbers into a grid with totals,
percentages and heat-map shading. Each builder runs a fixed number of queries whatever the
number of cases, codes or codings: the filter form's few look-ups, then one or two aggregates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import F, OuterRef, Subquery, Sum
from django.utils.formats import number_format
from django.utils.translation import gettext

from coding.analysis import selection
from coding.analysis.filters import AnalysisFilterForm
from coding.analysis.specs import NONE_KEY, TOTAL, RowSpec
from coding.models import (
    Case,
    CaseKind,
    Code,
    FrameworkSummary,
    Level,
    Transcript,
    Turn,
)
from coding.people import display_name

if TYPE_CHECKING:
    pass

# The heat map runs from white to the accent colour of app.css (#1f5fa8).
HEAT_FROM = (255, 255, 255)
HEAT_TO = (31, 95, 168)

CellLink = Callable[[str, str], str]


def heat_style(t: float | None) -> str:
    """Inline style for a cell shaded by ``t`` in [0, 1] (the page's CSP allows style attrs)."""
    if not t:
        return ""
    t = max(0.0, min(1.0, t))
    rgb = tuple(round(a + (b - a) * t) for a, b in zip(HEAT_FROM, HEAT_TO, strict=True))
    ink = "#fff" if t > 0.55 else "#1d2330"
    return f"background:#{rgb[0]:02x}{rgb[1]:02x}{rgb[2]:02x};color:{ink}"


def round_percent(value: float) -> Decimal:
    """The one rounding rule for percentages, on pages and in exports: one decimal, halves
    away from zero (11.76 → 11.8, 0.25 → 0.3). number_format alone cuts digits off, and
    round() on a float rounds halves to even and trips on binary fractions."""
    return Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def fmt(value: float | int | None, percent: bool) -> str:
    if value is None:
        return "–"
    if percent:
        return number_format(round_percent(value), decimal_pos=1, use_l10n=True) + " %"
    return number_format(value, decimal_pos=0, use_l10n=True, force_grouping=True)


@dataclass
class Cell:
    value: float | int | None  # the measure (a count, or coded words)
    shown: float | int | None  # what the reader sees: the count, a percentage or a share
    text: str = ""
    style: str = ""
    href: str = ""
    title: str = ""
    diagonal: bool = False


@dataclass
class Row:
    key: str
    label: str
    cells: list[Cell]
    total: Cell
    subtotal: bool = False


@dataclass
class Group:
    label: str
    rows: list[Row]
    subtotal: Row | None = None


@dataclass
class Matrix:
    title: str
    row_header: str
    columns: list[Code]
    groups: list[Group]
    column_totals: Row | None
    percent: bool
    max_shown: float = 0.0
    total_header: str = ""
    notes: list[str] = field(default_factory=list)

    def table(self) -> tuple[list[str], list[list[Any]], list[list[str | None]]]:
        """Header, rows and heat-map colours for the CSV/XLSX export: the numbers as shown,
        with totals. The colours run parallel to the rows (None: no fill)."""
        grouped = any(g.label for g in self.groups)
        lead = 2 if grouped else 1
        header = ([gettext("Group")] if grouped else []) + [self.row_header]
        header += [c.name for c in self.columns] + [self.total_header]
        rows: list[list[Any]] = []
        shades: list[list[str | None]] = []

        def line(group: str, row: Row) -> None:
            values = [_export_value(c.shown, self.percent) for c in row.cells]
            rows.append(
                ([group] if grouped else [])
                + [row.label, *values]
                + [_export_value(row.total.shown, self.percent)]
            )
            shades.append([None] * lead + [_fill_of(c.style) for c in row.cells] + [None])

        for g in self.groups:
            for r in g.rows:
                line(g.label, r)
            if g.subtotal:
                line(g.label, g.subtotal)
        if self.column_totals:
            line("", self.column_totals)
        return header, rows, shades


def _fill_of(style: str) -> str | None:
    """The background colour (RRGGBB) of a heat-map style."""
    if not style.startswith("background:#"):
        return None
    return style[len("background:#") : len("background:#") + 6]


def _export_value(shown: float | int | None, percent: bool) -> float | int | None:
    if shown is None:
        return None
    return float(round_percent(shown)) if percent else shown


def _pct(part: float | int | None, whole: float | int | None) -> float | None:
    if part is None:
        part = 0
    if not whole:
        return None
    return 100.0 * part / whole


# --- cases × codes and attribute × code ---------------------------------------------------


def case_code_matrix(form: AnalysisFilterForm, cell_link: CellLink) -> Matrix:
    """The matrix the form asks for. Queries: the form's look-ups, then the cells and the
    row totals (column totals too, when the rows do not partition the measure), and the
    words of each row for the share measure."""
    d = form.cleaned_data
    spec = form.row_spec
    columns = form.columns
    measure = d["measure"]
    share = measure == "share"
    base = "coverage" if share else measure
    display = form.cell_display
    qs = selection.codings(form)
    merged = form.merged
    layers = columns.layers()
    row_expr = spec.expression()

    if base in ("excerpts", "transcripts", "informants"):
        # Cells and row totals from one pass over the codings.
        cell_rows, total_rows = qs.matrix_cells_and_row_totals(
            base, row=row_expr, layers=layers, merged=merged
        )
    else:
        cell_rows = qs.matrix_counts(base, row=row_expr, layers=layers, merged=merged)
        total_rows = qs.matrix_counts(base, row=row_expr, merged=merged)
    cells: dict[tuple[str, int], int] = {}
    for rk, ck, value in cell_rows:
        if ck is not None:
            cells[(spec.key_str(rk), int(ck))] = value
    row_totals = {spec.key_str(rk): v for rk, _ck, v in total_rows}
    col_ids = [c.pk for c in columns.codes]
    if spec.partitions(base):
        col_totals = {ck: sum(v for (_rk, c), v in cells.items() if c == ck) for ck in col_ids}
        grand = sum(row_totals.values())
    else:
        col_totals = {
            int(ck): v for _rk, ck, v in qs.matrix_counts(base, layers=layers, merged=merged) if ck
        }
        grand = next(iter(v for _r, _c, v in qs.matrix_counts(base, merged=merged)), 0)

    # The share's denominators: characters of the interview text (Turn.objects.
    # interview_text_of, the rule the numerator is cut to) of the row's transcripts.
    words: dict[str, int] = {}
    if share:
        interview_chars = Subquery(
            Turn.objects.interview_text_of(form.project)
            .filter(transcript=OuterRef("pk"))
            .order_by()
            .values("transcript_id")
            .annotate(n=Sum(F("end") - F("content_start")))
            .values("n")
        )
        for rk, n in (
            Transcript.objects.filter(selection.transcript_q(form))
            .order_by()
            .values_list(spec.transcript_expression(), interview_chars)
        ):
            key = spec.key_str(rk)
            words[key] = words.get(key, 0) + (n or 0)

    groups = _row_groups(form, spec, set(row_totals) | set(words))

    def shown(
        value: int | None, row_total: int | None, col_total: int | None, row_words: int
    ) -> float | int | None:
        if display == "count":
            return value or 0
        if display == "row":
            return _pct(value, row_total)
        if display == "col":
            return _pct(value, col_total)
        return _pct(value, row_words)

    def make_row(key: str, label: str, subtotal_of: list[str] | None = None) -> Row:
        keys = subtotal_of if subtotal_of is not None else [key]
        rt = sum(row_totals.get(k, 0) for k in keys)
        rw = sum(words.get(k, 0) for k in keys)
        row_cells = []
        for col in columns.codes:
            v = sum(cells.get((k, col.pk), 0) for k in keys)
            cell = Cell(v, shown(v, rt, col_totals.get(col.pk), rw))
            if subtotal_of is None and v:
                cell.href = cell_link(key, str(col.pk))
                cell.title = f"{label} × {col.name}"
            row_cells.append(cell)
        total = Cell(rt, shown(rt, rt, grand, rw))
        if subtotal_of is None and rt:
            total.href = cell_link(key, TOTAL)
            total.title = label
        return Row(key, label, row_cells, total, subtotal=subtotal_of is not None)

    out_groups = []
    for label, keys in groups:
        rows = [make_row(k, spec.label_for(k, form.cases_by_id)) for k in keys]
        subtotal = None
        if label and len(keys) > 1 and spec.partitions(base):
            subtotal = make_row("", gettext("All: %(group)s") % {"group": label}, keys)
        out_groups.append(Group(label, rows, subtotal))

    total_words = sum(words.values())
    totals_cells = []
    for col in columns.codes:
        v = col_totals.get(col.pk, 0)
        cell = Cell(v, shown(v, grand, v, total_words))
        if v:
            cell.href = cell_link(TOTAL, str(col.pk))
            cell.title = f"{gettext('Total')} × {col.name}"
        totals_cells.append(cell)
    column_totals = Row(
        TOTAL,
        gettext("Total"),
        totals_cells,
        Cell(grand, shown(grand, grand, grand, total_words)),
        subtotal=True,
    )
    by_case = spec.kind == "cases"
    matrix = Matrix(
        title=gettext("Cases × codes")
        if by_case
        else gettext("%(rows)s × codes") % {"rows": spec.label},
        row_header=gettext("Case") if by_case else spec.label,
        columns=columns.codes,
        groups=out_groups,
        column_totals=column_totals,
        percent=display != "count",
        total_header=gettext("Total"),
    )
    matrix.notes.extend(measure_notes(form))
    if display != "count" and not share:
        matrix.notes.append(
            gettext(
                "A passage coded with several codes counts in each of their columns, so the "
                "percentages of a row can add up to more than 100."
            )
        )
    if share:
        matrix.notes.append(
            gettext(
                "Share of the interview text of the row's transcripts that lies in passages "
                "coded with the column's code (text coded twice counts once; coded text outside "
                "the interview text does not count)."
            )
        )
        matrix.notes.append(
            gettext(
                "Interview text, as search and suggestions read it: the speaker turns' text "
                "(without the speaker labels) including the interviewer's questions, never a "
                "transcript's header."
            )
            if form.project.interviewer_turns_are_interview_text
            else gettext(
                "Interview text, as search and suggestions read it: the speaker turns' text "
                "(without the speaker labels) but the interviewer's questions, never a "
                "transcript's header."
            )
        )
    if not spec.partitions(base):
        matrix.notes.append(
            gettext(
                "A transcript with informants in several rows counts in each of them, so the "
                "rows do not add up to the total."
            )
        )
    _shade(matrix)
    _format(matrix)
    return matrix


def measure_notes(form: AnalysisFilterForm) -> list[str]:
    """What the measure counts and on which coder basis, stated where the numbers are (the
    page's notes and every export's)."""
    measure = form.cleaned_data["measure"]
    notes = []
    if measure == "excerpts":
        if form.merged:
            notes.append(
                gettext(
                    "A coded excerpt is a passage: where passages of the same code overlap "
                    "(coded by several coders, or nested), their union counts once."
                )
            )
        else:
            notes.append(
                gettext(
                    "Each coder's excerpt counts on its own (the sum basis): a passage coded by "
                    "two coders in slightly different spans counts twice."
                )
            )
    if measure == "words":
        word = gettext(
            "A coded word is a run of letters and digits (joined by a hyphen or an apostrophe) "
            "inside a coded passage."
        )
        if form.merged:
            word += " " + gettext(
                "Words of overlapping passages of the same code count once (the words of "
                "their union)."
            )
        else:
            word += " " + gettext(
                "Each coder's excerpt counts its words, so text coded twice counts twice."
            )
        notes.append(word)
    if measure == "informants" or form.row_spec.by_speaker:
        notes.append(informant_rule())
    return notes


def informant_rule() -> str:
    """Which informant an excerpt belongs to (the rule of analysis.selection), in words."""
    return gettext(
        "An excerpt belongs to the informants whose speaker turns it overlaps (where one is "
        "needed, the first in the text that passes the filters); a passage only in the "
        "interviewer's turns belongs to nobody; text without speaker labels belongs to the "
        "informants listed on the transcript."
    )


def turn_rule() -> str:
    """What "within the same speaker turn" means for co-occurrence (turn_expression)."""
    return gettext(
        "Within the same speaker turn: both excerpts start in the same speaker turn (the turn "
        "an excerpt starts in is the last one beginning at or before its start)."
    )


def _row_groups(
    form: AnalysisFilterForm, spec: RowSpec, found: set[str]
) -> list[tuple[str, list[str]]]:
    """(group label, row keys) in display order; all kept cases appear, even without codings."""
    if spec.kind == "cases":
        by_kind: dict[str, list[str]] = defaultdict(list)
        for case in selection.selected_cases(form):
            by_kind[case.kind].append(str(case.pk))
        return [(str(CaseKind(k).label), by_kind[k]) for k in CaseKind.values if by_kind.get(k)]
    if spec.kind == "kind":
        kinds = {c.kind for c in selection.selected_cases(form)}
        return [("", [k for k in CaseKind.values if k in kinds or k in found])]
    if spec.kind == "level":
        keys = [k for k in Level.values if k in found]
        return [("", keys + ([NONE_KEY] if NONE_KEY in found else []))]
    values = [k for k in found if k != NONE_KEY]
    values.sort(key=lambda k: _sort_key(spec.parse_key(k)))
    return [("", values + ([NONE_KEY] if NONE_KEY in found else []))]


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, (int, float)) else (1, str(value))


def _body_cells(matrix: Matrix) -> Iterable[Cell]:
    for g in matrix.groups:
        for r in g.rows:
            yield from (c for c in r.cells if not c.diagonal)


def _shade(matrix: Matrix) -> None:
    """Heat-map styles: each body cell by its shown number over the largest one."""
    top = max((c.shown or 0 for c in _body_cells(matrix)), default=0)
    matrix.max_shown = top
    if not top:
        return
    for c in _body_cells(matrix):
        c.style = heat_style((c.shown or 0) / top)


def _format(matrix: Matrix) -> None:
    rows = [r for g in matrix.groups for r in [*g.rows, *([g.subtotal] if g.subtotal else [])]]
    if matrix.column_totals:
        rows.append(matrix.column_totals)
    for r in rows:
        for c in [*r.cells, r.total]:
            c.text = fmt(c.shown, matrix.percent)


def heat_legend(matrix: Matrix, steps: int = 5) -> list[dict[str, str]]:
    """Swatches from 0 to the largest cell, for the legend under the heat map."""
    out = []
    for i in range(steps + 1):
        t = i / steps
        out.append(
            {
                "style": heat_style(t) or "background:#fff",
                "text": fmt(matrix.max_shown * t, matrix.percent),
            }
        )
    return out


# --- code co-occurrence ---------------------------------------------------------------------


def cooccurrence_matrix(form: AnalysisFilterForm, cell_link: CellLink) -> Matrix:
    """Codes × codes: a cell counts the row code's excerpts that co-occur with the column
    code (same excerpt, overlapping, or in the same speaker turn). One aggregate query."""
    d = form.cleaned_data
    columns = form.columns
    layers = columns.layers()
    counts = {
        (a, b): n
        for a, b, n in selection.codings(form).cooccurrence_counts(
            d["mode"], layers, merged=form.merged
        )
    }
    percent = d["display"] == "row"
    rows = []
    for a in columns.codes:
        own = counts.get((a.pk, a.pk), 0)
        row_cells = []
        for b in columns.codes:
            v = counts.get((a.pk, b.pk), 0)
            cell = Cell(v, _pct(v, own) if percent else v, diagonal=a.pk == b.pk)
            if v:
                cell.href = cell_link(str(a.pk), str(b.pk))
                cell.title = f"{a.name} × {b.name}"
            row_cells.append(cell)
        total = Cell(own, own)
        rows.append(Row(str(a.pk), a.name, row_cells, total))
    matrix = Matrix(
        title=gettext("Code co-occurrence"),
        row_header=gettext("Excerpts coded with"),
        columns=columns.codes,
        groups=[Group("", rows)],
        column_totals=None,
        percent=percent,
        total_header=gettext("Excerpts"),
    )
    matrix.notes.append(
        gettext(
            "A cell counts the excerpts coded with the row's code that co-occur with an excerpt "
            "coded with the column's code; the diagonal holds the row code's own excerpts."
        )
    )
    if form.merged:
        matrix.notes.append(
            gettext(
                "An excerpt here is a passage: overlapping excerpts of the row's code (by "
                "several coders, or nested) count once, as their union."
            )
        )
    if d["mode"] == "turn":
        matrix.notes.append(turn_rule())
    _shade(matrix)
    for r in rows:
        for c in r.cells:
            c.text = fmt(c.shown, percent)
        r.total.text = fmt(r.total.shown, False)
    return matrix


# --- framework matrix -----------------------------------------------------------------------


@dataclass
class FrameworkCell:
    case: Case
    code: Code
    summary: FrameworkSummary | None
    excerpts: int
    href: str
    style: str = ""


@dataclass
class FrameworkRow:
    case: Case
    cells: list[FrameworkCell]
    note: FrameworkSummary | None = None  # the case summary, set by the framework view


@dataclass
class FrameworkGrid:
    columns: list[Code]
    groups: list[tuple[str, list[FrameworkRow]]]

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """Long format for export: one line per case and code."""
        header = [
            gettext("Group"),
            gettext("Case"),
            gettext("Code"),
            gettext("Excerpts"),
            gettext("Summary"),
            gettext("Last edited by"),
            gettext("Last edited"),
        ]
        rows = []
        for label, grid_rows in self.groups:
            for row in grid_rows:
                for c in row.cells:
                    s = c.summary
                    author = ""
                    if s and s.author:
                        author = display_name(s.author)
                    rows.append(
                        [
                            label,
                            c.case.name,
                            c.code.name,
                            c.excerpts,
                            s.text if s else "",
                            author,
                            s.updated_at.strftime("%Y-%m-%d %H:%M") if s else "",
                        ]
                    )
        return header, rows


def framework_matrix(form: AnalysisFilterForm, cell_link: CellLink) -> FrameworkGrid:
    """Cases × codes with the written summaries and the number of linked excerpts.

    Queries: the form's look-ups, the excerpt counts (one aggregate) and the summaries."""
    columns = form.columns
    spec = RowSpec("cases", "")
    counts = {
        (str(rk), int(ck)): v
        for rk, ck, v in selection.codings(form).matrix_counts(
            "excerpts", row=spec.expression(), layers=columns.layers(), merged=form.merged
        )
        if ck is not None
    }
    cases = selection.selected_cases(form)
    summaries = {
        (s.case_id, s.code_id): s
        for s in FrameworkSummary.objects.filter(
            project=form.project, code__in=[c.pk for c in columns.codes]
        ).select_related("author")
    }
    top = max(counts.values(), default=0)
    by_kind: dict[str, list[FrameworkRow]] = defaultdict(list)
    for case in cases:
        cells = []
        for code in columns.codes:
            n = counts.get((str(case.pk), code.pk), 0)
            cells.append(
                FrameworkCell(
                    case=case,
                    code=code,
                    summary=summaries.get((case.pk, code.pk)),
                    excerpts=n,
                    href=cell_link(str(case.pk), str(code.pk)) if n else "",
                    style=heat_style(n / top) if top else "",
                )
            )
        by_kind[case.kind].append(FrameworkRow(case, cells))
    groups = [(str(CaseKind(k).label), by_kind[k]) for k in CaseKind.values if by_kind.get(k)]
    return FrameworkGrid(columns.codes, groups)
