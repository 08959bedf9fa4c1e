"""The unitized alphas as the agreement page and its exports show them (no queries here).

``rows(report)`` and ``pooled(report)`` give the template formatted numbers;
``write_xlsx_sheet`` and ``write_docx_section`` add the same figures and their definitions to the
agreement report's workbook and Word document (coding.analysis.agreement_page).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from coding.analysis.agreement_page import _put, _sheet, docx_grid, num, shade
from coding.analysis.unitized import DEFINITIONS, UFigure, UReport


def _status(fig: UFigure | None, name: str) -> str:
    if fig is None:
        return ""
    return {
        "too_little": _("too little coding"),
        "undefined": _("undefined"),
    }.get(fig.status(name), "")


def _interval(fig: UFigure | None, name: str) -> str:
    ci = fig.interval(name) if fig is not None else None
    return f"{num(ci[0])} – {num(ci[1])}" if ci else ""


def _value(fig: UFigure | None, name: str) -> str:
    if fig is None or name not in fig.values:
        return ""
    return _status(fig, name) or num(fig.shown(name))


@dataclass
class Row:
    name: str
    depth: int
    code_id: int
    characters: int
    coded: int
    binary: str
    binary_interval: str
    colour: str
    domain_binary: str
    domain_shared: int | None
    cu: str
    cu_interval: str
    categories: str


def rows(report: UReport) -> list[Row]:
    out = []
    for r in report.rows:
        f, d = r.figure, r.domain
        out.append(
            Row(
                name=r.code.name,
                depth=r.code.depth,
                code_id=r.code.pk,
                characters=f.characters,
                coded=f.coded,
                binary=_value(f, "u_alpha_binary"),
                binary_interval=_interval(f, "u_alpha_binary"),
                colour=shade(f.shown("u_alpha_binary")),
                domain_binary=_value(d, "u_alpha_binary"),
                domain_shared=d.shared if d is not None else None,
                cu=_value(d, "cu_alpha"),
                cu_interval=_interval(d, "cu_alpha"),
                categories=", ".join(d.categories) if d is not None else "",
            )
        )
    return out


def pooled(report: UReport) -> dict[str, Any]:
    p = report.pooled
    return {
        "characters": p.characters,
        "coded": p.coded,
        "shared": p.shared,
        "binary": _value(p, "u_alpha_binary"),
        "binary_interval": _interval(p, "u_alpha_binary"),
        "Cu": _value(p, "Cu_alpha") or ("–" if "Cu_alpha" not in p.values else ""),
        "Cu_interval": _interval(p, "Cu_alpha"),
        "domains": ", ".join(p.categories),
    }


def _figures(f: UFigure | None, name: str) -> list[Any]:
    if f is None or name not in f.values:
        return [None, None, None, ""]
    ci = f.interval(name)
    return [f.shown(name), ci[0] if ci else None, ci[1] if ci else None, _status(f, name)]


def write_xlsx_sheet(wb: Workbook, report: UReport) -> None:
    """A sheet of the unitized alphas per code and pooled, with their definitions below."""
    header = [
        _("Code"),
        _("Characters"),
        _("Coded by any coder"),
        _("|uα (alpha-binary)"),
        _("from"),
        _("to"),
        _("Note"),
        _("Domain: |uα"),
        _("from"),
        _("to"),
        _("Note"),
        _("Domain: cuα"),
        _("from"),
        _("to"),
        _("Note"),
        _("Domain categories"),
    ]
    body = []
    for r in report.rows:
        d = r.domain
        body.append(
            [
                r.code.name,
                r.figure.characters,
                r.figure.coded,
                *_figures(r.figure, "u_alpha_binary"),
                *_figures(d, "u_alpha_binary"),
                *_figures(d, "cu_alpha"),
                ", ".join(d.categories) if d else "",
            ]
        )
    p = report.pooled
    body.append(
        [
            _("All codes (pooled)"),
            p.characters,
            p.coded,
            *_figures(p, "u_alpha_binary"),
            None,
            None,
            None,
            "",
            *(_figures(p, "Cu_alpha") if "Cu_alpha" in p.values else [None, None, None, ""]),
            _("Cuα over: %(domains)s") % {"domains": ", ".join(p.categories)}
            if p.categories
            else "",
        ]
    )
    ws = wb.create_sheet(_("Unitized alphas")[:31])
    _sheet(ws, header, body)
    bold = Font(bold=True)
    i = len(body) + 3
    for term, meaning in DEFINITIONS:
        _put(ws, i, 1, str(term)).font = bold
        _put(ws, i, 2, str(meaning))
        i += 1


def write_docx_section(document: Any, report: UReport) -> None:
    """A section of the unitized alphas per code and pooled, with their definitions."""
    document.add_heading(_("Unitized alphas (Krippendorff)"), level=1)
    p = pooled(report)
    text = (
        f"{_('|uα (alpha-binary)')}, {_('all codes')}: {p['binary']}"
        + (f" ({p['binary_interval']})" if p["binary_interval"] else "")
        + f"; {_('Cuα (Cu-alpha)')}: {p['Cu']}"
        + (f" ({p['Cu_interval']})" if p["Cu_interval"] else "")
        + f"; {_('Characters')}: {p['characters']}"
    )
    document.add_paragraph(text)
    header = [
        _("Code"),
        _("Coded by any coder"),
        _("|uα (alpha-binary)"),
        _("95 % interval"),
        _("Domain: |uα"),
        _("Domain: cuα"),
        _("95 % interval"),
    ]
    body = [
        [
            r.name,
            f"{r.coded}",
            r.binary,
            r.binary_interval,
            r.domain_binary,
            r.cu,
            r.cu_interval,
        ]
        for r in rows(report)
    ]
    docx_grid(document, [str(h) for h in header], body)
    for term, meaning in DEFINITIONS:
        para = document.add_paragraph()
        para.add_run(f"{term}. ").bold = True
        para.add_run(str(meaning))
