"""Which codings an export holds: the whole project, a filter of the matrix, or one cell.

The matrix filters live in coding/analysis/filters.py (which codings they select:
coding/analysis/selection.py); an export keeps the filter's data (and the cell's
row and column keys) in ``Job.params`` and selects the codings again when the job runs, so the
file shows the coding as it is then.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from coding.analysis import filters, selection
from coding.analysis.specs import TOTAL
from coding.exports.word import LAYOUT_SELECTION
from coding.models import Coding, CodingQuerySet, Membership, Project

# The matrix's own view settings: they do not choose codings (rows matters only for a cell).
VIEW_ONLY = ("measure", "display", "mode")


def filter_params(
    form: filters.AnalysisFilterForm, data: Mapping[str, Any]
) -> dict[str, list[str]]:
    """The filter fields of ``data`` (a QueryDict or dict) as plain JSON for Job.params."""
    out: dict[str, list[str]] = {}
    for name in form.fields:
        values = data.getlist(name) if hasattr(data, "getlist") else data.get(name)
        if values is None:
            continue
        if not isinstance(values, (list, tuple)):
            values = [values]
        values = [str(v) for v in values if v not in (None, "")]
        if values:
            out[name] = values
    return out


def basis_form(
    project: Project, params: dict[str, Any], *, viewer: Membership | None = None
) -> filters.AnalysisFilterForm:
    """The bound filter form whose coder basis the export uses: the selection's filter, or
    for the other layouts ``params["basis"]`` alone (the default basis when it is missing, as
    in exports started before there was a basis). ValidationError when it does not fit."""
    data = dict(params.get("filters") or {}) if params.get("layout") == LAYOUT_SELECTION else {}
    if not data.get("basis") and params.get("basis"):
        data["basis"] = params["basis"]
    return selection.bound_form(project, data, viewer=viewer)


def codings_for(
    project: Project, params: dict[str, Any], *, viewer: Membership | None = None
) -> tuple[CodingQuerySet, list[tuple[str, str]]]:
    """The codings of ``project`` the export's params select on its coder basis
    (``basis_form``), and lines describing them (the basis always among them).

    Raises ValidationError (with the form's messages) when the stored filter no longer fits
    the project, e.g. a code in it was deleted since.
    """
    if params.get("layout") != LAYOUT_SELECTION:
        form = basis_form(project, params, viewer=viewer)
        base = (
            Coding.objects.for_project(project).visible_to(viewer).filter(selection.basis_q(form))
        )
        return base, [(str(form.fields["basis"].label), form.basis_label)]
    form = basis_form(project, params, viewer=viewer)
    cell = params.get("cell")
    # The matrix's view settings do not choose codings; its rows matter only for a cell.
    described = form.describe(view=("rows",) if cell else ())
    if cell:
        row, col = str(cell.get("row", TOTAL)), str(cell.get("col", TOTAL))
        codings = selection.cell(form, row, col)
        described.append((_("Matrix cell"), cell_label(form, row, col)))
    else:
        codings = selection.codings(form)
    return codings, described


def cell_label(form: filters.AnalysisFilterForm, row: str, col: str) -> str:
    """“Drammen × Kompetanse” for a cell (form is bound and valid)."""
    row_label = _("all rows") if row == TOTAL else form.row_spec.label_for(row, form.cases_by_id)
    if col == TOTAL:
        col_label = _("all columns")
    else:
        code = form.tree.by_id.get(int(col)) if col.isdigit() else None
        col_label = code.name if code else col
    return f"{row_label} × {col_label}"
