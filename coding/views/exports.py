"""The Word export page: choose a layout, a selection and options, start the job.

Every member may export, supervisors too (they read everything); the file is served by
``coding:job-download``, which checks membership again.

The matrix links here with its filter as the query string plus ``layout=selection`` (and
``cell_row``/``cell_col`` for one cell); the filter fields are those of
``coding.analysis.filters.AnalysisFilterForm`` and travel unprefixed, as on the matrix page.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.views.decorators.http import require_GET, require_http_methods

from coding import access, services
from coding.analysis import filters
from coding.analysis import selection as analysis_selection
from coding.exports import selection
from coding.exports.form import ExportForm
from coding.exports.word import LAYOUT_BY_CODE, LAYOUT_SELECTION
from coding.models import Coding, Excerpt, Job, JobKind, JobStatus, Membership, Project
from coding.views import AuthenticatedHttpRequest

RECENT_EXPORTS = 10


@login_required
@require_http_methods(["GET", "POST"])
def export_start(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id)
    get = request.GET
    form = ExportForm(
        request.POST or None,
        request.FILES or None,
        initial={
            "language": translation.get_language() or settings.LANGUAGE_CODE,
            "layout": get.get("layout") or LAYOUT_BY_CODE,
            "cell_row": get.get("cell_row", ""),
            "cell_col": get.get("cell_col", ""),
        },
    )
    filter_form = filters.AnalysisFilterForm(
        request.POST if request.method == "POST" else get, project=project
    )
    if request.method == "POST" and form.is_valid():
        params = form.params()
        params["basis"] = str(filter_form["basis"].value() or filters.BASIS_DEFAULT)
        if params["layout"] == LAYOUT_SELECTION:
            params["filters"] = selection.filter_params(filter_form, request.POST)
            params["cell"] = form.cell()
        try:
            # The same check the job makes, so a bad filter is reported here, not on the job.
            selection.codings_for(project, params, viewer=project.membership)
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            job = services.export_start(
                project=project, user=request.user, params=params, template=form.template_bytes
            )
            return redirect("coding:job-detail", job_id=job.pk)
    selected, cell_label = _selected(
        filter_form, str(form["cell_row"].value() or ""), str(form["cell_col"].value() or "")
    )
    return render(
        request,
        "coding/exports/export_form.html",
        {
            "project": project,
            "form": form,
            "filter_form": filter_form,
            "filter_fields": [
                f
                for f in filter_form
                # "key quotes only" is one checkbox of the export form, read by both forms.
                # The coder basis is shown on its own: it holds for every layout.
                if f.name not in ("rows", "key_quotes", "basis", *selection.VIEW_ONLY)
                and not f.name.startswith("attr_")
            ],
            "attribute_fields": [f for f in filter_form if f.name.startswith("attr_")],
            "view_fields": [f for f in filter_form if f.name in ("rows", *selection.VIEW_ONLY)],
            "cell_label": cell_label,
            "selected": selected,
            "n_excerpts": Excerpt.objects.for_project(project)
            .visible_to(project.membership)
            .filter(codings__in=Coding.objects.visible_to(project.membership))
            .distinct()
            .count(),
            "exports": recent_exports(project, project.membership),
            "retention_hours": settings.EXPORT_RETENTION_HOURS,
        },
    )


@login_required
@require_GET
def export_count(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """How many excerpts the filters select (an htmx fragment of the export page)."""
    project = access.get_project_for_user(request.user, project_id)
    filter_form = filters.AnalysisFilterForm(request.GET, project=project)
    selected, _label = _selected(
        filter_form, request.GET.get("cell_row", ""), request.GET.get("cell_col", "")
    )
    return render(request, "coding/exports/_selection_count.html", {"selected": selected})


def _selected(
    filter_form: filters.AnalysisFilterForm, row: str, col: str
) -> tuple[int | None, str]:
    """Excerpts the filters (and the cell, if any) select, and the cell's label."""
    if not filter_form.is_valid():
        return None, ""
    try:
        if row and col:
            codings = analysis_selection.cell(filter_form, row, col)
            label = selection.cell_label(filter_form, row, col)
        else:
            codings, label = analysis_selection.codings(filter_form), ""
        return codings.values("content_object_id").distinct().count(), label
    except ValidationError:
        return None, ""


def recent_exports(project: Project, viewer: Membership) -> list[Job]:
    """The project's latest export jobs ``viewer`` may see (``access.may_see_job``), each with
    ``expires_at`` for its file."""
    retention = dt.timedelta(hours=settings.EXPORT_RETENTION_HOURS)
    qs = Job.objects.filter(project=project, kind=JobKind.EXPORT).exclude(status=JobStatus.DRAFT)
    if access.is_blinded_somewhere(viewer):
        qs = qs.filter(created_by_id=viewer.user_id)
    jobs = list(qs.select_related("created_by")[:RECENT_EXPORTS])
    now = timezone.now()
    for job in jobs:
        job.expires_at = (job.finished_at + retention) if job.finished_at else None
        job.expired = bool(job.expires_at and job.expires_at < now)
    return jobs
