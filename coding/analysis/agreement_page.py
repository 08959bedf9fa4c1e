"""The agreement report as the page and the spreadsheet show it (no queries here).

``page(report)`` gives the template formatted numbers, heat-map shades and the geometry of the
over-time line (drawn by templates/coding/analysis/agreement.html); ``write_xlsx`` writes the
same figures, the scope and the definitions into a workbook. Both take the numbers from one
``agreement.Report``, so the page and the file cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

import docx
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from coding.analysis.agreement import DEFINITIONS, Figure, Report

# Heat map: weak agreement (alpha ≤ 0) warm, reliable (alpha ≥ 0.8) cool; white in between.
WEAK = (0xE8, 0x8A, 0x7D)
MIDDLE = (0xF7, 0xF4, 0xEA)
STRONG = (0x5F, 0xA8, 0x8B)
RELIABLE = 0.8


def num(x: float | None, places: int = 2) -> str:
    return "–" if x is None else number_format(x, decimal_pos=places, use_l10n=True)


def pct(x: float | None) -> str:
    return "–" if x is None else number_format(100 * x, decimal_pos=1, use_l10n=True) + " %"


def shade(alpha: float | None) -> str:
    """RRGGBB for an alpha, or "" when there is no figure."""
    if alpha is None:
        return ""
    t = max(0.0, min(1.0, alpha / RELIABLE))
    a, b, u = (WEAK, MIDDLE, t * 2) if t < 0.5 else (MIDDLE, STRONG, t * 2 - 1)
    return "".join(f"{round(x + (y - x) * u):02x}" for x, y in zip(a, b, strict=True))


def status_text(fig: Figure) -> str:
    if fig.too_little:
        return _("too little coding")
    if fig.alpha is None:
        return _("undefined")
    return ""


@dataclass
class Cell:
    text: str
    colour: str
    title: str
    transcript_id: int


@dataclass
class Row:
    name: str
    depth: int
    code_id: int
    units: int
    coded: int
    percent: str
    kappa: str
    bp: str
    alpha: str
    alpha_value: float | None
    interval: str
    status: str
    colour: str
    existence: str
    frequency: str
    cells: list[Cell]
    weakest_transcript: int | None  # where to compare the coders first


@dataclass
class Line:
    width: int
    height: int
    points: str
    dots: list[dict[str, Any]]
    ticks: list[dict[str, Any]]
    reliable_y: float


def _interval(fig: Figure, name: str) -> str:
    ci = fig.intervals.get(name)
    if fig.too_little or ci is None:
        return ""
    return f"{num(ci[0])} – {num(ci[1])}"


def _kappa_name(report: Report) -> str:
    return "cohen_kappa" if report.two_coders else "fleiss_kappa"


ORDERS = ("alpha", "name", "coded")


def rows(report: Report, order: str = "alpha") -> list[Row]:
    """The per-code rows: weakest first (no figure last), in codebook order, or most coded."""
    kappa = _kappa_name(report)
    out = []
    chosen = list(report.rows)
    if order == "name":
        chosen.sort(key=lambda r: r.position)
    elif order == "coded":
        chosen.sort(key=lambda r: -r.figure.coded)
    for r in chosen:
        f = r.figure
        cells = []
        for t, c in zip(report.transcripts, r.cells, strict=True):
            cells.append(
                Cell(
                    text=num(c.alpha) if c.alpha is not None else "",
                    colour=shade(c.alpha),
                    title=f"{r.code.name} · {t['title']}: "
                    + (status_text(c) or f"α = {num(c.alpha)}, {c.coded} / {c.units}"),
                    transcript_id=t["pk"],
                )
            )
        # The transcript with the lowest alpha, else the one with the most coding.
        scored = [
            (c.alpha, -c.coded, t["pk"])
            for t, c in zip(report.transcripts, r.cells, strict=True)
            if c.coded
        ]
        weakest = min(scored, key=lambda x: (x[0] is None, x[0] or 0, x[1]), default=None)
        out.append(
            Row(
                name=r.code.name,
                depth=r.code.depth,
                code_id=r.code.pk,
                units=f.units,
                coded=f.coded,
                percent=pct(f.shown("percent")),
                kappa=num(f.shown(kappa)),
                bp=num(f.shown("brennan_prediger")),
                alpha=num(f.alpha),
                alpha_value=f.alpha,
                interval=_interval(f, "krippendorff_alpha"),
                status=status_text(f),
                colour=shade(f.alpha),
                existence=pct(r.existence.shown("percent")),
                frequency=pct(r.frequency_percent),
                cells=cells,
                weakest_transcript=weakest[2] if weakest else None,
            )
        )
    return out


def transcript_cells(report: Report) -> list[Cell]:
    """The heat map's last row: each transcript's alpha over all chosen codes."""
    return [
        Cell(
            text=num(f.alpha) if f.alpha is not None else "",
            colour=shade(f.alpha),
            title=f"{t['title']}: " + (status_text(f) or f"α = {num(f.alpha)}"),
            transcript_id=t["pk"],
        )
        for t, f in zip(report.transcripts, report.per_transcript, strict=True)
    ]


def pooled(report: Report) -> dict[str, str | int]:
    """The pooled figures (all codes, all transcripts), formatted (the unit counts as numbers)."""
    f = report.pooled
    return {
        "units": f.units,
        "coded": f.coded,
        "percent": pct(f.shown("percent")),
        "kappa": num(f.shown(_kappa_name(report))),
        "bp": num(f.shown("brennan_prediger")),
        "alpha": num(f.alpha),
        "interval": _interval(f, "krippendorff_alpha"),
        "kappa_interval": _interval(f, _kappa_name(report)),
        "status": status_text(f),
    }


def line(report: Report, width: int = 640, height: int = 180) -> Line | None:
    """Pooled alpha per week of finished coding (weeks with too little coding left out)."""
    shown = [(p, p.figure.alpha) for p in report.periods if p.figure.alpha is not None]
    if not shown:
        return None
    left, right, top, bottom = 44, 12, 10, 28
    plot_w, plot_h = width - left - right, height - top - bottom

    def y(v: float) -> float:  # alpha from 0 (bottom) to 1 (top); below 0 sits on the axis
        return round(top + plot_h * (1 - max(0.0, min(1.0, v))), 1)

    step = plot_w / max(1, len(shown) - 1)
    dots = []
    for i, (p, a) in enumerate(shown):
        x = round(left + (i * step if len(shown) > 1 else plot_w / 2), 1)
        dots.append(
            {
                "x": x,
                "y": y(a),
                "label": p.start.strftime("%d.%m.%y"),
                "title": f"{p.start:%Y-%m-%d}: α = {num(a)} ({p.transcripts})",
            }
        )
    ticks = [{"y": y(v), "text": num(v, 1)} for v in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)]
    return Line(
        width=width,
        height=height,
        points=" ".join(f"{d['x']},{d['y']}" for d in dots),
        dots=dots,
        ticks=ticks,
        reliable_y=y(RELIABLE),
    )


# --- the spreadsheet ------------------------------------------------------------------------


def _put(ws: Worksheet, row: int, col: int, value: Any) -> Any:  # an openpyxl cell
    cell = ws.cell(row=row, column=col)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever a code name starts with
    return cell


def _sheet(
    ws: Worksheet, header: list[str], body: list[list[Any]], fills: list[list[str]] | None = None
) -> None:
    bold = Font(bold=True)
    for j, h in enumerate(header, start=1):
        _put(ws, 1, j, h).font = bold
    for i, values in enumerate(body, start=2):
        for j, v in enumerate(values, start=1):
            cell = _put(ws, i, j, v)
            if isinstance(v, float):
                cell.number_format = "0.000"
            colour = fills[i - 2][j - 1] if fills and j - 1 < len(fills[i - 2]) else ""
            if colour:
                cell.fill = PatternFill("solid", start_color=colour, end_color=colour)
    ws.freeze_panes = "B2"
    for j, h in enumerate(header, start=1):
        longest = max([len(str(h))] + [len(str(r[j - 1] or "")) for r in body[:200]])
        ws.column_dimensions[get_column_letter(j)].width = min(50, max(8, longest + 2))


def _scope(report: Report, described: list[tuple[str, str]]) -> list[tuple[str, str]]:
    scope = [
        (_("Coders"), report.coder_names),
        (_("Unit"), report.unit_label),
        (_("Transcripts"), str(len(report.transcripts))),
        *described,
    ]
    if report.unit == "passage":
        scope.insert(2, (_("Overlap threshold"), pct(report.threshold)))
    return scope


def docx_grid(document: Any, header: list[str], body: list[list[str]]) -> None:
    """A bordered Word table: the header row, then one row per list of texts."""
    grid = document.add_table(rows=1, cols=len(header))
    grid.style = "Table Grid"
    for cell, text in zip(grid.rows[0].cells, header, strict=True):
        cell.text = str(text)
    for values in body:
        for cell, text in zip(grid.add_row().cells, values, strict=True):
            cell.text = text


def write_docx(
    fh: BinaryIO,
    report: Report,
    described: list[tuple[str, str]],
    more: Callable[[Any], None] | None = None,
) -> None:
    """The report as a Word document: scope, pooled figures, per code, definitions.

    ``more(document)`` adds a section before the definitions (the unitized alphas)."""
    document = docx.Document()
    document.add_heading(_("Intercoder agreement"), level=0)
    table = document.add_table(rows=0, cols=2)
    for label, value in _scope(report, described):
        cells = table.add_row().cells
        cells[0].text, cells[1].text = str(label), str(value)
    p = pooled(report)
    kappa_label = _("Cohen's kappa") if report.two_coders else _("Fleiss' kappa")
    alpha_label = _("Krippendorff's alpha")
    document.add_heading(_("All codes (pooled)"), level=1)
    document.add_paragraph(
        f"{alpha_label}: {p['alpha']}"
        + (f" ({p['interval']})" if p["interval"] else "")
        + f"; {kappa_label}: {p['kappa']}; {_('Percent agreement')}: {p['percent']}; "
        + f"{_('Units (%(unit)s)') % {'unit': report.unit_label}}: {p['units']}"
        + (f" — {p['status']}" if p["status"] else "")
    )
    document.add_heading(_("Per code"), level=1)
    header = [
        _("Code"),
        _("Units (%(unit)s)") % {"unit": report.unit_label},
        _("Coded by any coder"),
        _("Percent agreement"),
        kappa_label,
        _("Brennan–Prediger kappa"),
        _("Krippendorff's alpha"),
        _("95 % interval"),
    ]
    body = []
    for r in rows(report):
        values = [r.name, f"{r.units}", f"{r.coded}"]
        if r.status:
            values += [r.status, "", "", "", ""]
        else:
            values += [r.percent, r.kappa, r.bp, r.alpha, r.interval]
        body.append(values)
    docx_grid(document, header, body)
    if more is not None:
        more(document)
    document.add_heading(_("Definitions"), level=1)
    for term, meaning in DEFINITIONS:
        para = document.add_paragraph()
        para.add_run(f"{term}. ").bold = True
        para.add_run(str(meaning))
    document.save(fh)


def write_xlsx(
    fh: BinaryIO,
    report: Report,
    described: list[tuple[str, str]],
    more: Callable[[Workbook], None] | None = None,
) -> None:
    """Per code, codes × transcripts, over time, and the definitions with the scope.

    ``more(workbook)`` adds sheets at the end (the unitized alphas)."""
    wb = Workbook()
    kappa = _kappa_name(report)
    kappa_label = _("Cohen's kappa") if report.two_coders else _("Fleiss' kappa")

    def figures(f: Figure) -> list[Any]:
        ci = f.intervals.get("krippendorff_alpha")
        ci = None if f.too_little else ci
        return [
            f.units,
            f.coded,
            f.shown("percent"),
            f.shown(kappa),
            f.shown("brennan_prediger"),
            f.alpha,
            ci[0] if ci else None,
            ci[1] if ci else None,
            status_text(f),
        ]

    header = [
        _("Code"),
        _("Units (%(unit)s)") % {"unit": report.unit_label},
        _("Coded by any coder"),
        _("Percent agreement"),
        kappa_label,
        _("Brennan–Prediger kappa"),
        _("Krippendorff's alpha"),
        _("Alpha, 95 % interval from"),
        _("to"),
        _("Note"),
        _("Code existence, percent agreement"),
        _("Code frequency, equal"),
    ]
    body = [
        [r.code.name, *figures(r.figure), r.existence.shown("percent"), r.frequency_percent]
        for r in report.rows
    ]
    body.append([_("All codes (pooled)"), *figures(report.pooled), None, None])
    ws = wb.active
    ws.title = _("Per code")[:31]
    _sheet(ws, header, body)

    heat = wb.create_sheet(_("Codes × transcripts")[:31])
    _sheet(
        heat,
        [_("Code")] + [t["title"] for t in report.transcripts],
        [[r.code.name] + [c.alpha for c in r.cells] for r in report.rows],
        [[""] + [shade(c.alpha) for c in r.cells] for r in report.rows],
    )

    time = wb.create_sheet(_("Over time")[:31])
    _sheet(
        time,
        [_("Week from"), _("Transcripts"), _("Krippendorff's alpha"), _("Note")],
        [
            [p.start.isoformat(), p.transcripts, p.figure.alpha, status_text(p.figure)]
            for p in report.periods
        ],
    )

    meta = wb.create_sheet(_("Definitions")[:31])
    bold = Font(bold=True)
    _put(meta, 1, 1, _("Intercoder agreement")).font = Font(bold=True, size=13)
    scope = _scope(report, described)
    i = 3
    for label, value in [*scope, ("", ""), *[(str(a), str(b)) for a, b in DEFINITIONS]]:
        _put(meta, i, 1, label).font = bold
        _put(meta, i, 2, value)
        i += 1
    meta.column_dimensions["A"].width = 30
    meta.column_dimensions["B"].width = 100
    if more is not None:
        more(wb)
    wb.save(fh)
