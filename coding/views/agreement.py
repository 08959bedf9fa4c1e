"""The supervisors' agreement page, its comparison view and its exports: every member reads them."""

from __future__ import annotations

import io

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from coding import access
from coding.analysis import agreement, agreement_page, comparison
from coding.analysis.agreement_form import AgreementForm
from coding.analysis.filters import AnalysisFilterForm
from coding.analysis.specs import CodeTree
from coding.models import Project
from coding.people import display_name
from coding.views import AuthenticatedHttpRequest

EXPORTS = {
    "xlsx": (
        agreement_page.write_xlsx,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    "docx": (
        agreement_page.write_docx,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
}


def _report(
    request: HttpRequest, project: Project
) -> tuple[AgreementForm, agreement.Report | None, list[str]]:
    """The form, and the report of its choices (None with the errors when it cannot be made)."""
    form = AgreementForm(request.GET, project=project)
    if not form.is_valid():
        return form, None, [str(e) for errs in form.errors.values() for e in errs]
    d = form.cleaned_data
    try:
        report = agreement.build(
            project,
            coder_ids=d["coders"],
            data=request.GET,  # the matrix filters: codes, sub-codes, cases, tags, dates ...
            unit=d["unit"],
            threshold=d["threshold"],
        )
    except ValidationError as exc:
        return form, None, list(exc.messages)
    return form, report, []


def _filter_form(request: HttpRequest, project: Project) -> AnalysisFilterForm:
    """The matrix filters' code choice, for the sidebar (sub-codes on their own by default)."""
    data = request.GET.copy()
    if not data.get("subcodes"):
        data["subcodes"] = "own"
    form = AnalysisFilterForm(data, project=project)
    form.is_valid()
    return form


def _compare_query(request: HttpRequest, report: agreement.Report) -> str:
    """The comparison view's query string: these coders, the sub-code choice, the way back."""
    q = request.GET.copy()
    q.setlist("coders", [str(u.pk) for u in report.coders])
    q.pop("code", None)
    return q.urlencode()


def _without(request: HttpRequest, name: str) -> str:
    q = request.GET.copy()
    q.pop(name, None)
    return q.urlencode()


@login_required
@require_GET
def agreement_view(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id)
    form, report, errors = _report(request, project)
    context = {
        "project": project,
        "tab": "agreement",
        "form": form,
        "errors": errors,
        "report": report,
        "definitions": agreement.DEFINITIONS,
        "query": _without(request, "order"),
    }
    context["filter_form"] = _filter_form(request, project)
    context["passed_on"] = [
        (k, v)
        for k, values in request.GET.lists()
        if k not in ("coders", "unit", "threshold", "codes", "subcodes", "order")
        for v in values
    ]
    if report is not None:
        context |= {
            "rows": agreement_page.rows(report, request.GET.get("order", "alpha")),
            "line": agreement_page.line(report),
            "pooled": agreement_page.pooled(report),
            "transcript_cells": agreement_page.transcript_cells(report),
            "threshold": agreement_page.pct(report.threshold),
            "compare_query": _compare_query(request, report),
            "kappa_label": _("Cohen's kappa") if report.two_coders else _("Fleiss' kappa"),
        }
    return render(request, "coding/analysis/agreement.html", context)


@login_required
@require_GET
def agreement_export(request: AuthenticatedHttpRequest, project_id: int, fmt: str) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id)
    if fmt not in EXPORTS:
        raise Http404
    _form, report, errors = _report(request, project)
    if report is None:
        return HttpResponse("\n".join(errors), status=400, content_type="text/plain")
    described = [
        (_("Project"), project.name),
        *report.described,
        (_("Exported"), timezone.localtime().strftime("%Y-%m-%d %H:%M")),
        (_("Exported by"), display_name(request.user)),
    ]
    out = io.BytesIO()
    writer, content_type = EXPORTS[fmt]
    writer(out, report, described)
    stamp = timezone.localdate().isoformat()
    filename = f"{slugify(project.name)[:40] or 'project'}-agreement-{stamp}.{fmt}"
    response = HttpResponse(out.getvalue(), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def agreement_compare(request: AuthenticatedHttpRequest, transcript_id: int) -> HttpResponse:
    """One code on one transcript, the chosen coders' passages side by side."""
    transcript = access.get_transcript_for_user(request.user, transcript_id)
    project = transcript.case.project
    project.membership = transcript.membership
    codebook = project.codebooks.get()
    (code,) = access.codes_of_codebook(codebook.pk, [request.GET.get("code")])
    form = AgreementForm(request.GET, project=project)
    if not form.is_valid():
        raise Http404
    coder_ids = form.cleaned_data["coders"]
    users = {u.pk: u for u in form.coder_list}
    coders = [users[pk] for pk in coder_ids if pk in users]
    members = (
        CodeTree.of(project).subtree(code.pk)
        if request.GET.get("subcodes") == "rollup"
        else {code.pk}
    )
    passages = comparison.compare(transcript, members, coders, viewer=transcript.membership)
    back = request.GET.copy()
    for name in ("code",):
        back.pop(name, None)
    return render(
        request,
        "coding/analysis/agreement_compare.html",
        {
            "project": project,
            "tab": "agreement",
            "transcript": transcript,
            "code": code,
            "coders": coders,
            "passages": passages,
            "disagreements": sum(1 for p in passages if p.disagreement),
            "back": back.urlencode(),
        },
    )
