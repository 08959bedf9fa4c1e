"""REFI-QDA exchange pages: project (.qdpx) and codebook (.qdc) downloads for every member,
and the owners' import: upload, preview (what will be created, who maps to whom, what is left
out), confirm; the import then runs as a job."""

from __future__ import annotations

import tempfile
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods

from coding import access, importers, services
from coding.exchange import export_qdc, export_qdpx, read_exchange
from coding.exchange.form import ExchangePreviewForm, ExchangeUploadForm
from coding.exchange.plan import informant_names, proposed_speakers
from coding.models import JobKind, JobStatus, Project
from coding.views import AuthenticatedHttpRequest

SPOOL_BYTES = 16 * 1024 * 1024
# Sources whose speaker labels the preview lets the owner map (the rest: as proposed).
PREVIEW_SOURCES = 50


def _file_name(project: Project, ext: str) -> str:
    return f"{slugify(project.name) or 'prosjekt'}{ext}"


@login_required
@require_GET
def project_export(request: AuthenticatedHttpRequest, project_id: int) -> FileResponse:
    project = access.get_project_for_user(request.user, project_id)
    buf = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (FileResponse closes it)
    export_qdpx(buf, project, viewer=project.membership)
    buf.seek(0)
    return FileResponse(
        buf,
        as_attachment=True,
        filename=_file_name(project, ".qdpx"),
        content_type="application/zip",
    )


@login_required
@require_GET
def codebook_export(
    request: AuthenticatedHttpRequest, project_id: int
) -> HttpResponse | FileResponse:
    project = access.get_project_for_user(request.user, project_id)
    buf = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    try:
        export_qdc(buf, project)
    except ValidationError as exc:
        buf.close()
        messages.error(request, " ".join(exc.messages))
        return redirect("coding:codebook", project_id=project.pk)
    buf.seek(0)
    return FileResponse(
        buf,
        as_attachment=True,
        filename=_file_name(project, ".qdc"),
        content_type="application/xml",
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id, access.OWN)
    form = ExchangeUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job, _plan = services.exchange_import_prepare(
                project=project, user=request.user, upload=form.cleaned_data["file"]
            )
        except ValidationError as exc:
            for m in exc.messages:
                form.add_error(None, m)
        else:
            return redirect("coding:exchange-preview", job_id=job.pk)
    return render(request, "coding/exchange/upload.html", {"project": project, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def import_preview(request: AuthenticatedHttpRequest, job_id: uuid.UUID) -> HttpResponse:
    job = access.get_job_for_user(request.user, job_id, access.OWN)
    if job.kind != JobKind.EXCHANGE_IMPORT:
        return redirect("coding:import-preview", job_id=job.pk)
    if job.status != JobStatus.DRAFT:
        return redirect("coding:job-detail", job_id=job.pk)
    project = job.project
    try:
        with job.input_file.open("rb") as fh:
            plan = read_exchange(fh, job.input_name)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("coding:exchange-import", project_id=project.pk)
    members = [
        m.user for m in project.memberships.select_related("user").order_by("user__username")
    ]
    names = informant_names(plan)
    sources = []
    for src in plan.sources[:PREVIEW_SOURCES]:
        informants = names.get(src.guid, {})
        doc = importers.parse_pasted(src.text, src.name)
        proposed = proposed_speakers(src.text, src.name, set(informants))
        sources.append((src.guid, src.name, importers.detect_speakers(doc), proposed, informants))
    form = ExchangePreviewForm(
        request.POST or None,
        users=plan.users,
        members=members,
        sources=sources,
        initial={"new_project_name": plan.name or job.input_name.rsplit(".", 1)[0]},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.exchange_import_confirm(
                job=job,
                new_project_name=data["new_project_name"] if data["target"] == "new" else "",
                merge_codes=data["codes"] == "merge",
                user_map=form.user_map(),
                speakers=form.speakers(),
            )
        except ValidationError as exc:
            for m in exc.messages:
                form.add_error(None, m)
        else:
            return redirect("coding:job-detail", job_id=job.pk)
    return render(
        request,
        "coding/exchange/preview.html",
        {
            "project": project,
            "job": job,
            "plan": plan,
            "summary": plan.summary(),
            "form": form,
            "user_fields": [form[key] for key, _guid in form.user_fields],
            "speaker_rows": [
                (name, [form[key] for key, _label, _guid in rows])
                for name, rows in form.speaker_fields
                if rows
            ],
        },
    )
