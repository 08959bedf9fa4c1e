"""REFI-QDA exchange pages: project (.qdpx) and codebook (.qdc) downloads for every member,
and the owners' import: upload, preview (what will be created, who maps to whom, what is left
out), confirm; the import then runs as a job."""

from __future__ import annotations

import tempfile
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods

from coding import access, services
from coding.exchange import export_qdc, export_qdpx, read_exchange
from coding.exchange.form import (
    ExchangePreviewForm,
    ExchangeUploadForm,
    SourceSpeakersForm,
    source_pages,
)
from coding.exchange.plan import source_speakers
from coding.exchange.read import ExchangePlan
from coding.models import Job, JobKind, JobStatus, Project
from coding.views import AuthenticatedHttpRequest

SPOOL_BYTES = 16 * 1024 * 1024


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


def _draft_plan(request: HttpRequest, job: Job) -> ExchangePlan | None:
    """What a draft's file holds, read again; None (with the reason as a message) where it
    cannot be read any more."""
    try:
        with job.input_file.open("rb") as fh:
            return read_exchange(fh, job.input_name)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return None


@login_required
@require_http_methods(["GET", "POST"])
def import_preview(request: AuthenticatedHttpRequest, job_id: uuid.UUID) -> HttpResponse:
    job = access.get_job_for_user(request.user, job_id, access.OWN)
    if job.kind != JobKind.EXCHANGE_IMPORT:
        return redirect("coding:import-preview", job_id=job.pk)
    if job.status != JobStatus.DRAFT:
        return redirect("coding:job-detail", job_id=job.pk)
    project = job.project
    plan = _draft_plan(request, job)
    if plan is None:
        return redirect("coding:exchange-import", project_id=project.pk)
    members = [
        m.user for m in project.memberships.select_related("user").order_by("user__username")
    ]
    sources = source_speakers(plan)
    saved = job.params.get("speaker_choices") or {}
    form = ExchangePreviewForm(
        request.POST or None,
        users=plan.users,
        members=members,
        sources=sources,
        saved=saved,
        initial={"new_project_name": plan.name or job.input_name.rsplit(".", 1)[0]},
    )
    if request.method == "POST" and "per_source" in request.POST:
        # On to the per-source page: keep the labels' choices made here for the way back.
        try:
            services.exchange_speakers_save(job=job, label_choices=form.posted_label_choices())
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("coding:job-detail", job_id=job.pk)
        return redirect("coding:exchange-speakers", job_id=job.pk)
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
            "label_rows": [(form[key], group) for key, group in form.label_fields],
            "n_sources_with_labels": sum(1 for s in sources if s.labels),
            "n_own_choices": sum(1 for own in form.overrides.values() if own),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_speakers(request: AuthenticatedHttpRequest, job_id: uuid.UUID) -> HttpResponse:
    """The preview's per-source speaker choices, a page of sources at a time: each label of
    each source as chosen for every source, or this source's own choice."""
    job = access.get_job_for_user(request.user, job_id, access.OWN)
    if job.kind != JobKind.EXCHANGE_IMPORT:
        raise Http404
    if job.status != JobStatus.DRAFT:
        return redirect("coding:job-detail", job_id=job.pk)
    plan = _draft_plan(request, job)
    if plan is None:
        return redirect("coding:exchange-import", project_id=job.project_id)
    pages = source_pages(source_speakers(plan))
    try:
        page = min(max(1, int(request.GET.get("page") or 1)), max(1, len(pages)))
    except ValueError:
        page = 1
    shown = pages[page - 1] if pages else []
    saved = job.params.get("speaker_choices") or {}
    form = SourceSpeakersForm(
        request.POST or None, sources=shown, overrides=saved.get("overrides") or {}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.exchange_speakers_save(job=job, overrides=form.overrides())
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("coding:job-detail", job_id=job.pk)
        goto = request.POST.get("goto", "")
        if goto.isdigit() and 1 <= int(goto) <= len(pages):
            url = reverse("coding:exchange-speakers", args=[job.pk])
            return redirect(f"{url}?page={int(goto)}")
        return redirect("coding:exchange-preview", job_id=job.pk)
    label_choices = saved.get("label_choices") or {}
    return render(
        request,
        "coding/exchange/speakers.html",
        {
            "project": job.project,
            "job": job,
            "form": form,
            "page": page,
            "pages": range(1, len(pages) + 1),
            "n_pages": len(pages),
            "rows": [
                (s, [(form[key], label, n, label_choices.get(label, "")) for key, label, n in rows])
                for s, rows in form.rows
            ],
        },
    )
