"""The supervisors' agreement page and its spreadsheet: every member may read them."""

from __future__ import annotations

import io

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from .. import access
from ..analysis import agreement, agreement_page
from ..forms_agreement import AgreementForm
from ..models import Project


def _report(request: HttpRequest, project: Project) -> tuple[AgreementForm, object, list[str]]:
    """The form, and the report of its choices (None with the errors when it cannot be made)."""
    form = AgreementForm(request.GET, project=project)
    if not form.is_valid():
        return form, None, [e for errs in form.errors.values() for e in errs]
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


def _without(request: HttpRequest, name: str) -> str:
    q = request.GET.copy()
    q.pop(name, None)
    return q.urlencode()


@login_required
@require_GET
def agreement_view(request: HttpRequest, project_id: int) -> HttpResponse:
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
    if report is not None:
        context |= {
            "rows": agreement_page.rows(report, request.GET.get("order", "alpha")),
            "line": agreement_page.line(report),
            "pooled": agreement_page.pooled(report),
            "threshold": agreement_page.pct(report.threshold),
            "kappa_label": _("Cohen's kappa") if report.two_coders else _("Fleiss' kappa"),
        }
    return render(request, "coding/analysis/agreement.html", context)


@login_required
@require_GET
def agreement_export(request: HttpRequest, project_id: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id)
    _form, report, errors = _report(request, project)
    if report is None:
        return HttpResponse("\n".join(errors), status=400, content_type="text/plain")
    described = [
        (_("Project"), project.name),
        *report.described,
        (_("Exported"), timezone.localtime().strftime("%Y-%m-%d %H:%M")),
        (_("Exported by"), request.user.get_full_name() or request.user.username),
    ]
    out = io.BytesIO()
    agreement_page.write_xlsx(out, report, described)
    stamp = timezone.localdate().isoformat()
    filename = f"{slugify(project.name)[:40] or 'project'}-agreement-{stamp}.xlsx"
    response = HttpResponse(
        out.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
