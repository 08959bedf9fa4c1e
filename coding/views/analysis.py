"""The analysis pages: matrices with drill-down, co-occurrence, framework matrix, exports.

Every member reads them (supervisors too); only researchers and owners write framework
summaries. The filters are the GET parameters of ``coding.analysis.filters.AnalysisFilterForm``, so
every page, cell link and export link carries the same query string.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.forms import ChoiceField
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from coding import access, services
from coding.analysis import drilldown, key_quote_marks, matrices, matrix_export, selection
from coding.analysis.filters import COOCCURRENCE_CHOICES, DISPLAY_CHOICES, AnalysisFilterForm
from coding.analysis.specs import TOTAL
from coding.forms import FrameworkSummaryForm
from coding.models import Case, Code, CodingQuerySet, FrameworkSummary, Project
from coding.people import display_name
from coding.views import AuthenticatedHttpRequest, HtmxHttpRequest

EXPORT_FORMATS = ("csv", "xlsx")


def _form(project: Project, data: QueryDict, **overrides: str) -> AnalysisFilterForm:
    if overrides:
        data = data.copy()
        for k, v in overrides.items():
            data[k] = v
    return AnalysisFilterForm(data, project=project)


def _cell_link(project: Project, form: AnalysisFilterForm, name: str) -> Callable[[str, str], str]:
    base = f"{reverse(name, args=[project.pk])}?{form.query_string()}"
    return lambda row, col: f"{base}&{urlencode({'row': row, 'col': col})}"


def _context(
    project: Project, form: AnalysisFilterForm, tab: str, show_view: tuple[str, ...] = ()
) -> dict:
    query = form.query_string()
    return {
        "project": project,
        "form": form,
        "tab": tab,
        "show_view": show_view,
        "view_names": AnalysisFilterForm.VIEW_FIELDS,
        "query": query,
        "can_write": project.membership.can_write,
        "word_export": _word_export(project, query, layout="selection"),
    }


def _word_export(project: Project, query: str, **extra: str) -> str:
    """A link to the Word export page with the filters (and a cell) chosen."""
    try:
        url = reverse("coding:export", args=[project.pk])
    except NoReverseMatch:  # the Word export is not installed
        return ""
    return f"{url}?{query}&{urlencode(extra)}"


def _matrix_tab(form: AnalysisFilterForm) -> str:
    rows = form.data.get("rows", "cases")
    return "matrix" if rows in ("cases", "kind") else "crosstab"


# --- cases × codes and attribute × code -----------------------------------------------------


@login_required
@require_GET
def matrix(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id)
    form = _form(project, request.GET)
    ctx = _context(
        project, form, _matrix_tab(form), ("rows", "bins", "bin_limits", "measure", "display")
    )
    if form.is_valid():
        grid = matrices.case_code_matrix(
            form, _cell_link(project, form, "coding:analysis-matrix-cell")
        )
        ctx.update(matrix=grid, legend=matrices.heat_legend(grid), described=form.describe())
    return render(request, "coding/analysis/matrix.html", ctx)


@login_required
@require_GET
def matrix_cell(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    """The excerpts of one cell (an htmx fragment under the matrix, or a page of its own)."""
    project = access.get_project_for_user(request.user, project_id)
    form = _form(project, request.GET)
    row, col = request.GET.get("row", TOTAL), request.GET.get("col", TOTAL)
    if not form.is_valid():
        return _drilldown_error(request, project, form)
    try:
        codings = selection.cell(form, row, col)
    except ValidationError as exc:
        return _drilldown_error(request, project, form, exc.messages)
    title = _cell_title(form, row, col)
    export = _word_export(
        project, form.query_string(), layout="selection", cell_row=row, cell_col=col
    )
    highlight = form.columns.members(int(col)) if col != TOTAL else form.columns.tag_ids()
    back = f"{reverse('coding:analysis-matrix', args=[project.pk])}?{form.query_string()}"
    return _drilldown(
        request, project, form, codings, title, highlight, back, export, per_code=col == TOTAL
    )


def _cell_title(form: AnalysisFilterForm, row: str, col: str) -> str:
    row_label = _("All rows") if row == TOTAL else form.row_spec.label_for(row, form.cases_by_id)
    if col == TOTAL:
        col_label = _("all chosen codes")
    else:
        col_label = form.tree.by_id[int(col)].name
    return f"{row_label} × {col_label}"


def _drilldown(
    request: HtmxHttpRequest,
    project: Project,
    form: AnalysisFilterForm,
    codings: CodingQuerySet,
    title: str,
    highlight: Iterable[int],
    back_url: str,
    word_export: str = "",
    *,
    per_code: bool = False,
) -> HttpResponse:
    viewer = project.membership
    total, items = drilldown.drilldown(
        codings,
        highlight=highlight,
        merged=form.merged,
        consensus=form.counts_consensus,
        per_code=per_code,
        viewer=viewer,
    )
    marks = key_quote_marks.stars(
        ((it.excerpt.pk, it.codes) for it in items), request.user, viewer=viewer
    )
    for it in items:
        it.stars = marks[it.excerpt.pk]
    toggle = request.GET.copy()
    if toggle.get("key_quotes"):
        del toggle["key_quotes"]
    else:
        toggle["key_quotes"] = "1"
    ctx = {
        "can_write": project.membership.can_write,
        "key_quotes_only": bool(form.cleaned_data.get("key_quotes")),
        "key_quotes_toggle": f"{request.path}?{toggle.urlencode()}",
        "project": project,
        "form": form,
        "title": title,
        "total": total,
        "items": items,
        "limit": drilldown.DRILLDOWN_LIMIT,
        "word_export": word_export,
        "back_url": back_url,
        "basis": form.basis_label,
        "tab": "cooccurrence" if "cooccurrence" in request.path else _matrix_tab(form),
    }
    if request.htmx:
        return render(request, "coding/analysis/_drilldown.html", ctx)
    return render(request, "coding/analysis/drilldown.html", ctx)


def _drilldown_error(
    request: HtmxHttpRequest,
    project: Project,
    form: AnalysisFilterForm,
    errors: list[str] | None = None,
) -> HttpResponse:
    errors = errors or [str(e) for errs in form.errors.values() for e in errs]
    template = (
        "coding/analysis/_drilldown.html" if request.htmx else "coding/analysis/drilldown.html"
    )
    ctx = {"project": project, "form": form, "errors": errors, "items": [], "total": 0}
    return render(request, template, ctx, status=400)


@login_required
@require_GET
def matrix_export_view(
    request: AuthenticatedHttpRequest, project_id: int, fmt: str
) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id)
    form = _form(project, request.GET)
    if fmt not in EXPORT_FORMATS or not form.is_valid():
        raise Http404
    grid = matrices.case_code_matrix(form, lambda r, c: "")
    header, rows, shades = grid.table()
    return _export(
        request,
        project,
        form,
        fmt,
        title=grid.title,
        header=header,
        rows=rows,
        shades=shades,
        percent=grid.percent,
        name="matrix",
        notes=grid.notes,
    )


def _export(
    request: HttpRequest,
    project: Project,
    form: AnalysisFilterForm,
    fmt: str,
    *,
    title: str,
    header: list[str],
    rows: list[list[Any]],
    shades: list[list[str | None]] | None,
    percent: bool,
    name: str,
    notes: Sequence[str] = (),
    view: Sequence[str] | None = None,
) -> HttpResponse:
    described = [
        (_("Project"), project.name),
        *(form.describe() if view is None else form.describe(view=view)),
        *[(_("Note"), n) for n in notes],
        (_("Exported"), timezone.localtime().strftime("%Y-%m-%d %H:%M")),
        (_("Exported by"), display_name(request.user)),
    ]
    table = matrix_export.Table(
        title=title,
        header=header,
        rows=rows,
        filters=described,
        shades=shades,
        percent=percent,
    )
    stamp = timezone.localdate().isoformat()
    filename = f"{slugify(project.name)[:40] or 'project'}-{name}-{stamp}.{fmt}"
    if fmt == "csv":
        buf = io.StringIO()
        matrix_export.write_csv(buf, table)
        content = buf.getvalue().encode("utf-8-sig")  # the BOM lets Excel read UTF-8
        content_type = "text/csv; charset=utf-8"
    else:
        out = io.BytesIO()
        matrix_export.write_xlsx(out, table)
        content = out.getvalue()
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- code co-occurrence ---------------------------------------------------------------------


def _cooccurrence_form(project: Project, data: QueryDict) -> AnalysisFilterForm:
    form = _form(project, data)
    cast(ChoiceField, form.fields["display"]).choices = DISPLAY_CHOICES[:2]
    return form


@login_required
@require_GET
def cooccurrence(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id)
    form = _cooccurrence_form(project, request.GET)
    ctx = _context(project, form, "cooccurrence", ("mode", "display"))
    if form.is_valid():
        grid = matrices.cooccurrence_matrix(
            form, _cell_link(project, form, "coding:analysis-cooccurrence-cell")
        )
        described = form.describe(view=("mode", "display"))
        ctx.update(matrix=grid, legend=matrices.heat_legend(grid), described=described)
    return render(request, "coding/analysis/cooccurrence.html", ctx)


@login_required
@require_GET
def cooccurrence_cell(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id)
    form = _cooccurrence_form(project, request.GET)
    if not form.is_valid():
        return _drilldown_error(request, project, form)
    try:
        codings = selection.cooccurrence_cell(
            form, request.GET.get("row", ""), request.GET.get("col", "")
        )
    except ValidationError as exc:
        return _drilldown_error(request, project, form, exc.messages)
    a = form.tree.by_id[int(request.GET["row"])]
    b = form.tree.by_id[int(request.GET["col"])]
    mode = str(dict(COOCCURRENCE_CHOICES)[form.cleaned_data["mode"]]).lower()
    title = _("“%(a)s” with “%(b)s” (%(mode)s)") % {"a": a.name, "b": b.name, "mode": mode}
    back = f"{reverse('coding:analysis-cooccurrence', args=[project.pk])}?{form.query_string()}"
    return _drilldown(request, project, form, codings, title, form.columns.members(a.pk), back)


@login_required
@require_GET
def cooccurrence_export(
    request: AuthenticatedHttpRequest, project_id: int, fmt: str
) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id)
    form = _cooccurrence_form(project, request.GET)
    if fmt not in EXPORT_FORMATS or not form.is_valid():
        raise Http404
    grid = matrices.cooccurrence_matrix(form, lambda r, c: "")
    header, rows, shades = grid.table()
    return _export(
        request,
        project,
        form,
        fmt,
        title=grid.title,
        header=header,
        rows=rows,
        shades=shades,
        percent=grid.percent,
        name="cooccurrence",
        notes=grid.notes,
        view=("mode", "display"),
    )


# --- framework matrix -----------------------------------------------------------------------


@login_required
@require_GET
def framework(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """The framework matrix, written in the grid: every cell, case summary (last column) and
    cross-case synthesis (last row) is an editor that saves drafts on its own
    (``framework_save``); the side panel follows the selected cell (``framework_panel``)."""
    project = access.get_project_for_user(request.user, project_id)
    form = _form(project, request.GET, rows="cases")
    ctx = _context(project, form, "framework")
    if form.is_valid():
        grid = matrices.framework_matrix(
            form, _cell_link(project, form, "coding:analysis-matrix-cell")
        )
        notes = {
            (s.case_id, s.code_id): s
            for s in FrameworkSummary.objects.filter(project=project)
            .filter(Q(case__isnull=True) | Q(code__isnull=True))
            .select_related("author")
        }
        for _label, rows in grid.groups:
            for row in rows:
                row.note = notes.get((row.case.pk, None))
        for code in grid.columns:
            code.synthesis = notes.get((None, code.pk))
        ctx.update(
            grid=grid,
            progress=_framework_progress(grid),
            described=form.describe(view=()),
        )
    return render(request, "coding/analysis/framework.html", ctx)


def _framework_progress(grid: matrices.FrameworkGrid) -> dict[str, int]:
    cells = [c for _label, rows in grid.groups for row in rows for c in row.cells]
    return {"done": sum(1 for c in cells if c.summary and c.summary.text), "total": len(cells)}


def _framework_target(
    user: User, project: Project, data: QueryDict
) -> tuple[Case | None, Code | None]:
    """The case and/or code a framework editor names (``case``, ``code``; one may be empty)."""
    case: Case | None = None
    code: Code | None = None
    if case_id := data.get("case"):
        case = access.get_case_for_user(user, case_id)
        if case.project_id != project.pk:
            raise Http404
    if data.get("code"):
        code = access.codes_of_codebook(project.codebook.pk, [data["code"]])[0]
    if case is None and code is None:
        raise Http404
    return case, code


@login_required
@require_POST
def framework_save(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """Save one framework text from the grid (a draft saved on its own, or on leaving the cell).

    Answers with out-of-band fragments only: the editor's version and status, and the progress
    line, so the text being typed is never replaced. A stale version (someone saved since) saves
    nothing and shows their text: the conflict rule of ``services.framework_summary_save``.
    """
    project = access.get_project_for_user(request.user, project_id, access.WRITE)
    case, code = _framework_target(request.user, project, request.POST)
    form = FrameworkSummaryForm(request.POST)
    key = f"{case.pk if case else 0}-{code.pk if code else 0}"
    ctx: dict[str, Any] = {"key": key, "saved": None, "error": "", "newer": None}
    if not form.is_valid():
        ctx["error"] = " ".join(str(e) for errs in form.errors.values() for e in errs)
        ctx["version"] = request.POST.get("version", "0")
    else:
        try:
            summary = services.framework_summary_save(
                project=project,
                case=case,
                code=code,
                author=request.user,
                text=form.cleaned_data["text"],
                base_version=form.cleaned_data["version"],
            )
        except ValidationError as exc:
            ctx["error"] = " ".join(exc.messages)
            ctx["version"] = form.cleaned_data["version"]
            if getattr(exc, "code", "") == "stale":
                ctx["newer"] = (
                    FrameworkSummary.objects.filter(case=case, code=code)
                    .select_related("author")
                    .first()
                )
        else:
            ctx.update(saved=summary, version=summary.version)
    ctx["progress_total"] = None
    if case is not None and code is not None:
        # The progress line counts the cells of the grid as filtered on the page.
        grid_form = _form(project, QueryDict(request.POST.get("query", "")), rows="cases")
        if grid_form.is_valid():
            cases = selection.selected_cases(grid_form)
            codes = grid_form.columns.codes
            ctx["progress_total"] = len(cases) * len(codes)
            ctx["progress_done"] = (
                FrameworkSummary.objects.filter(case__in=cases, code__in=codes)
                .exclude(text="")
                .count()
            )
    ctx["cell_page"] = (
        reverse("coding:analysis-framework-cell", args=[case.pk, code.pk]) if case and code else ""
    )
    return render(request, "coding/analysis/_fw_saved.html", ctx)


@login_required
@require_GET
def framework_panel(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """The side panel of the selected framework cell: the same factor's texts in the other
    cases ("compare with"), and the cell's excerpts."""
    project = access.get_project_for_user(request.user, project_id)
    case, code = _framework_target(request.user, project, request.GET)
    compare = []
    if code is not None:
        compare = list(
            FrameworkSummary.objects.filter(project=project, code=code)
            .exclude(text="")
            .exclude(case=case)
            .select_related("case", "author")
            .order_by("case__kind", "case__order", "case__name")
        )
    items: list[drilldown.DrillItem] = []
    total = 0
    basis = ""
    if case is not None and code is not None:
        filter_form = _form(project, request.GET, rows="cases", codes=str(code.pk))
        if filter_form.is_valid():
            try:
                codings = selection.cell(filter_form, str(case.pk), str(code.pk))
            except ValidationError:
                codings = None
            if codings is not None:
                total, items = drilldown.drilldown(
                    codings,
                    highlight=filter_form.columns.members(code.pk),
                    merged=filter_form.merged,
                    consensus=filter_form.counts_consensus,
                    viewer=project.membership,
                )
                basis = filter_form.basis_label
                marks = key_quote_marks.stars(
                    ((it.excerpt.pk, it.codes) for it in items),
                    request.user,
                    viewer=project.membership,
                )
                for it in items:
                    it.stars = marks[it.excerpt.pk]
    return render(
        request,
        "coding/analysis/_fw_panel.html",
        {
            "project": project,
            "case": case,
            "code": code,
            "compare": compare,
            "items": items,
            "total": total,
            "basis": basis,
            "can_write": project.membership.can_write,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def framework_cell(request: AuthenticatedHttpRequest, case_id: int, code_id: int) -> HttpResponse:
    """One framework cell: the summary (written by researchers and owners) beside its
    excerpts, and the summary's history."""
    need = access.WRITE if request.method == "POST" else access.READ
    case = access.get_case_for_user(request.user, case_id, need)
    project = case.project
    project.membership = case.membership
    code = access.codes_of_codebook(project.codebook.pk, [code_id])[0]
    summary = FrameworkSummary.objects.filter(case=case, code=code).select_related("author").first()
    form = FrameworkSummaryForm(
        request.POST or None,
        initial={
            "text": summary.text if summary else "",
            "version": summary.version if summary else 0,
        },
    )
    newer = None
    if request.method == "POST" and form.is_valid():
        try:
            services.framework_summary_save(
                project=project,
                case=case,
                code=code,
                author=request.user,
                text=form.cleaned_data["text"],
                base_version=form.cleaned_data["version"],
            )
        except ValidationError as exc:
            for m in exc.messages:
                form.add_error(None, m)
            if getattr(exc, "code", "") == "stale":
                # Show the newer text and let the next save go on top of it.
                newer = FrameworkSummary.objects.select_related("author").get(case=case, code=code)
                data = request.POST.copy()
                data["version"] = str(newer.version)
                form.data = data
        else:
            messages.success(request, _("Summary saved."))
            url = reverse("coding:analysis-framework", args=[project.pk])
            query = request.POST.get("query", "")
            return redirect(f"{url}?{query}#cell-{case.pk}-{code.pk}")
    filter_form = _form(project, request.GET, rows="cases", codes=str(code.pk))
    items: list[drilldown.DrillItem] = []
    total = 0
    if filter_form.is_valid():
        try:
            codings = selection.cell(filter_form, str(case.pk), str(code.pk))
        except ValidationError:
            codings = None
        if codings is not None:
            total, items = drilldown.drilldown(
                codings,
                highlight=filter_form.columns.members(code.pk),
                merged=filter_form.merged,
                consensus=filter_form.counts_consensus,
                viewer=project.membership,
            )
    revisions = (
        list(summary.revisions.select_related("author").order_by("-version")[:20])
        if summary
        else []
    )
    return render(
        request,
        "coding/analysis/framework_cell.html",
        {
            "project": project,
            "case": case,
            "code": code,
            "summary": summary,
            "newer": newer,
            "form": form,
            "can_write": project.membership.can_write,
            "items": items,
            "total": total,
            "limit": drilldown.DRILLDOWN_LIMIT,
            "basis": filter_form.basis_label if filter_form.is_valid() else "",
            "revisions": revisions,
            "query": request.GET.urlencode(),
        },
    )


@login_required
@require_GET
def framework_export(request: AuthenticatedHttpRequest, project_id: int, fmt: str) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id)
    form = _form(project, request.GET, rows="cases")
    if fmt not in EXPORT_FORMATS or not form.is_valid():
        raise Http404
    grid = matrices.framework_matrix(form, lambda r, c: "")
    header, rows = grid.table()
    return _export(
        request,
        project,
        form,
        fmt,
        title=_("Framework matrix"),
        header=header,
        rows=rows,
        shades=None,
        percent=False,
        name="framework",
        view=(),
    )
