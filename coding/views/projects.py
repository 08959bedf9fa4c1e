"""Pages. Thin, typed, function-based: decorators, access helper, form, service, redirect."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from coding import access, services
from coding.analysis import memo_overview, progress
from coding.forms import AssignmentForm, ImportPreviewForm, ImportUploadForm
from coding.models import (
    Assignment,
    AttributeValue,
    Case,
    Job,
    JobKind,
    JobStatus,
    Memo,
    Project,
    Transcript,
    job_fail_if_stale,
)
from coding.views import AuthenticatedHttpRequest, HtmxHttpRequest, memo_write


@login_required
@require_GET
def project_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    projects = (
        Project.objects.for_user(request.user)
        .annotate(n_cases=Count("cases", distinct=True))
        .order_by("name")
    )
    return render(request, "coding/project_list.html", {"projects": projects})


def _project_home(
    request: HttpRequest,
    project: Project,
    status: int = 200,
    *,
    assignment_form: AssignmentForm | None = None,
) -> HttpResponse:
    """The project home: cases with their transcripts' coding progress, and project memos.

    A fixed number of queries for any number of cases and transcripts (see analysis.progress).
    """
    cases = list(
        Case.objects.filter(project=project)
        .prefetch_related(
            "tags",  # type: ignore[misc]  # the plugin knows no taggit TaggableManager relation
            Prefetch(
                "attribute_values",
                queryset=AttributeValue.objects.select_related("definition").order_by(
                    "definition__order"
                ),
            ),
            Prefetch(
                "transcripts",
                queryset=Transcript.objects.defer("text").order_by("interview_date", "title"),
            ),
        )
        .annotate(n_informants=Count("informants", distinct=True))
    )
    overall = progress.project_progress(project, viewer=project.membership)
    for case in cases:
        for t in case.transcripts.all():
            t.progress = overall.for_transcript(t.pk)
    memos = Memo.objects.filter(
        project=project,
        excerpt__isnull=True,
        transcript__isnull=True,
        case__isnull=True,
        code__isnull=True,
    ).select_related("author", "memo_type")
    can_write = project.membership.can_write
    is_owner = access.is_owner(project.membership)
    return render(
        request,
        "coding/project_detail.html",
        {
            **_blind_and_assignments(project, cases, assignment_form, is_owner),
            "project": project,
            "cases": cases,
            "progress": overall,
            "memos": memos,
            **(
                memo_write.write_form(memo_write.target_for(project, project.membership))
                if can_write
                else {}
            ),
            "can_write": can_write,
            "is_owner": is_owner,
            "jobs": job_list_for(project),
        },
        status=status,
    )


def _blind_and_assignments(
    project: Project, cases: Sequence[Case], form: AssignmentForm | None, is_owner: bool
) -> dict:
    """The project home's blind coding card and assignments: every assignment for an owner
    (with the form to make more), a coder's own for them."""
    blind_ids = set(
        Transcript.objects.blind().filter(case__project=project).values_list("pk", flat=True)
    )
    for case in cases:
        for t in case.transcripts.all():
            t.blind = t.pk in blind_ids
    assignments = Assignment.objects.for_project(project.pk).select_related(
        "coder", "transcript__case"
    )
    if not is_owner:
        assignments = assignments.filter(coder_id=project.membership.user_id)
    return {
        "blind_count": len(blind_ids),
        "assignments": list(
            assignments.defer("transcript__text").order_by(
                "transcript__case__kind",
                "transcript__case__order",
                "transcript__title",
                "coder__username",
            )
        ),
        "assignment_form": form or (AssignmentForm(project=project) if is_owner else None),
        "may_set_blind": access.may_set_blind_coding(project.membership),
    }


@login_required
@require_GET
def project_detail(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id)
    return _project_home(request, project)


@login_required
@require_GET
def case_detail(request: AuthenticatedHttpRequest, case_id: int) -> HttpResponse:
    case = access.get_case_for_user(request.user, case_id)
    case_memos, case_memo_count = memo_overview.about(
        case.project, case_id=case.pk, viewer=case.membership
    )
    return render(
        request,
        "coding/case_detail.html",
        {
            "case": case,
            "project": case.project,
            "informants": case.informants.all(),
            "attributes": case.attribute_values.select_related("definition"),
            "transcripts": case.transcripts.with_coding_progress(case.membership).defer("text"),
            "case_memos": case_memos,
            "case_memo_count": case_memo_count,
            **(
                memo_write.write_form(memo_write.target_for(case.project, case.membership, case))
                if case.membership.can_write
                else {}
            ),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id, access.WRITE)
    form = ImportUploadForm(
        request.POST or None,
        request.FILES or None,
        project=project,
        initial={"case": request.GET.get("case")},
    )
    if request.method == "POST" and form.is_valid():
        try:
            job = services.import_prepare(
                project=project,
                case=form.cleaned_data["case"],
                user=request.user,
                upload=form.cleaned_data.get("file"),
                pasted=form.cleaned_data.get("pasted") or "",
                title=form.cleaned_data.get("title") or "",
            )
        except ValidationError as exc:
            for m in exc.messages:
                form.add_error(None, m)
        else:
            job.refresh_from_db()
            if job.status == JobStatus.FAILED:
                # Refused as soon as it was read (the eager runner): say why on this page, and
                # keep no record of a file that never became a draft.
                form.add_error(None, job.message)
                services.import_discard(job=job)
            else:
                return redirect(_import_next(job))
    return render(request, "coding/import_upload.html", {"project": project, "form": form})


def _import_next(job: Job) -> str:
    """Where an import goes next: its preview once read, else its job page (which polls)."""
    if job.status == JobStatus.DRAFT:
        return reverse("coding:import-preview", args=[job.pk])
    return reverse("coding:job-detail", args=[job.pk])


@login_required
@require_http_methods(["GET", "POST"])
def import_preview(request: AuthenticatedHttpRequest, job_id: uuid.UUID) -> HttpResponse:
    job = access.get_job_for_user(request.user, job_id, access.WRITE)
    if job.kind == JobKind.EXCHANGE_IMPORT:  # a REFI-QDA draft has its own (owners') preview
        return redirect("coding:exchange-preview", job_id=job.pk)
    if job.status != JobStatus.DRAFT:
        return redirect("coding:job-detail", job_id=job.pk)
    case = Case.objects.get(pk=job.params["case_id"], project=job.project)
    if request.method == "POST" and request.POST.get("encoding"):
        try:
            services.import_reread(job=job, encoding=request.POST["encoding"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        job.refresh_from_db()
        return redirect(_import_next(job))
    try:
        parsed = services.import_parsed(job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("coding:import-upload", project_id=job.project_id)
    doc = parsed.doc
    title = job.params.get("title") or job.input_name.rsplit(".", 1)[0]
    form = ImportPreviewForm(
        request.POST or None,
        case=case,
        labels=parsed.labels,
        question_shares=parsed.shares,
        paragraphs=doc.paragraphs,
        header_lines=parsed.header_lines,
        initial={"title": title, **parsed.header},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.import_confirm(
                job=job, metadata=form.metadata(), speakers=form.speaker_mapping()
            )
        except ValidationError as exc:
            for m in exc.messages:
                form.add_error(None, m)
        else:
            return redirect("coding:job-detail", job_id=job.pk)
    return render(
        request,
        "coding/import_preview.html",
        {
            "job": job,
            "project": job.project,
            "case": case,
            "form": form,
            "n_paragraphs": len(doc.paragraphs),
            "doc": doc,
        },
    )


@login_required
@require_GET
def job_detail(request: HtmxHttpRequest, job_id: uuid.UUID) -> HttpResponse:
    job = access.get_job_for_user(request.user, job_id)
    job_fail_if_stale(job)
    if job.status == JobStatus.DRAFT and job.kind == JobKind.IMPORT:
        # The file is read: on to the preview (htmx follows HX-Redirect, a reload the 302).
        url = reverse("coding:import-preview", args=[job.pk])
        if request.htmx:
            return HttpResponseClientRedirect(url)
        return redirect(url)
    template = "coding/_job_status.html" if request.htmx else "coding/job_detail.html"
    return render(request, template, {"job": job, "project": job.project})


@login_required
@require_GET
def job_download(request: AuthenticatedHttpRequest, job_id: uuid.UUID) -> FileResponse:
    job = access.get_job_for_user(request.user, job_id)
    if job.status != JobStatus.DONE or not job.result_file:
        raise Http404
    try:
        fh = job.result_file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    return FileResponse(fh, as_attachment=True, filename=job.result_name or "export")


def job_list_for(project: Project):
    # Imports not yet confirmed belong to their uploader (see access.get_job_for_user).
    jobs = (
        Job.objects.filter(project=project)
        .exclude(status=JobStatus.DRAFT)
        .exclude(kind=JobKind.IMPORT, params__stage="parse")
    )
    viewer = getattr(project, "membership", None)
    if viewer is not None and access.is_blinded_somewhere(viewer):
        # Others' exports hold their codings (access.may_see_job).
        jobs = jobs.exclude(Q(kind=JobKind.EXPORT) & ~Q(created_by_id=viewer.user_id))
    return jobs[:20]
