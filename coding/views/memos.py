"""The memo overview: every memo of the project in one list, filtered and searchable by
Norwegian word forms; each opens where it belongs. Every member reads it."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.forms import ChoiceField, Form
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from coding import access, services
from coding.analysis import memo_overview
from coding.exports import memos as memo_exports
from coding.exports.word import LAYOUT_MEMOS_BY_CASE, LAYOUT_MEMOS_BY_CODE
from coding.forms import MemoFilterForm
from coding.models import MemoLink, MemoType, Transcript
from coding.views import AuthenticatedHttpRequest, HtmxHttpRequest

# Offered when a project has no memo types yet (the owner may keep, change or clear them).
SUGGESTED_TYPES = ("Teoretisk", "Metodisk", "Refleksiv", "Å gjøre")


def _choices(form: Form, name: str) -> list[tuple[Any, Any]]:
    """A choice field's choices as the form set them: a list (the stubs allow any input)."""
    return cast(list[tuple[Any, Any]], cast(ChoiceField, form.fields[name]).choices)


@login_required
@require_GET
def memo_list(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """The memos the filters keep, newest first, ``PAGE_SIZE`` a page (the page links keep the
    filters). A row carries no forms: its type and links editor is fetched when opened."""
    project = access.get_project_for_user(request.user, project_id)
    form = MemoFilterForm(request.GET or None, project=project)
    page = None
    query_error = ""
    d = form.cleaned_data if form.is_bound and form.is_valid() else {}
    if not form.is_bound or form.is_valid():
        try:
            listed = memo_overview.filtered(project, d, viewer=project.membership)
        except ValidationError as exc:
            query_error = " ".join(exc.messages)
        else:
            page = Paginator(listed, memo_overview.PAGE_SIZE).get_page(request.GET.get("page"))
            for m in page.object_list:
                m.kind_label = MemoFilterForm.KIND_LABELS[m.kind]
    # The other side of "see also": memos listed under a case or code because they link to it.
    linked_here: set[int] = set()
    if d.get("case") or d.get("code"):
        linked_here = set(
            MemoLink.objects.filter(memo__project=project)
            .filter(Q(case_id=d.get("case")) | Q(code_id=d.get("code")))
            .values_list("memo_id", flat=True)
        )
    return render(
        request,
        "coding/memos/list.html",
        {
            "project": project,
            "form": form,
            "page": page,
            "memos": page.object_list if page else [],
            "total": page.paginator.count if page else None,
            "query_error": query_error,
            "types": list(MemoType.objects.filter(project=project)),
            "linked_here": linked_here,
            "here": request.get_full_path(),
            "can_write": project.membership.can_write,
            "is_owner": access.is_owner(project.membership),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def memo_types(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """The project's memo types, one a line; every member reads them, owners edit them."""
    need = access.OWN if request.method == "POST" else access.READ
    project = access.get_project_for_user(request.user, project_id, need)
    current = list(MemoType.objects.filter(project=project))
    text = "\n".join(t.name for t in current) or "\n".join(SUGGESTED_TYPES)
    error = ""
    if request.method == "POST":
        text = request.POST.get("names", "")
        try:
            services.memo_types_set(project=project, names=text.splitlines())
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, _("Memo types saved."))
            return redirect("coding:memo-types", project_id=project.pk)
    return render(
        request,
        "coding/memos/types.html",
        {
            "project": project,
            "types": current,
            "text": text,
            "suggested": not current,
            "error": error,
            "is_owner": access.is_owner(project.membership),
        },
        status=400 if error else 200,
    )


@login_required
@require_POST
def memo_type_set(request: AuthenticatedHttpRequest, memo_id: int) -> HttpResponse:
    """Label one's own memo (an owner: any memo) with one of the project's types (or none)."""
    memo = access.get_memo_to_label_for_user(request.user, memo_id)
    type_id = request.POST.get("type") or None
    memo_type = None
    if type_id:
        memo_type = MemoType.objects.filter(project_id=memo.project_id, pk=type_id).first()
        if memo_type is None:
            raise Http404
    services.memo_type_assign(memo=memo, memo_type=memo_type)
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, {request.get_host()}):
        return redirect(back)
    return redirect("coding:memo-list", project_id=memo.project_id)


@login_required
@require_POST
def memo_link(request: AuthenticatedHttpRequest, memo_id: int) -> HttpResponse:
    """Add a "see also" link from a memo to a code, a case or a passage, or remove one
    (``remove``)."""
    memo = access.get_memo_to_label_for_user(request.user, memo_id)
    project = memo.project
    code = case = excerpt = None
    if request.POST.get("code"):
        code = access.codes_of_codebook(project.codebook.pk, [request.POST["code"]])[0]
    elif request.POST.get("case"):
        case = access.get_case_for_user(request.user, request.POST["case"])
    elif request.POST.get("excerpt"):
        excerpt = access.get_excerpt_for_user(request.user, request.POST["excerpt"])
    else:
        raise Http404
    try:
        services.memo_link_set(
            memo=memo,
            actor=request.user,
            code=code,
            case=case,
            excerpt=excerpt,
            linked=not request.POST.get("remove"),
        )
    except ValidationError as exc:
        if exc.code == "memo_link_foreign":
            raise Http404 from exc  # a case or passage of another of the user's projects
        messages.error(request, " ".join(exc.messages))
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, {request.get_host()}):
        return redirect(back)
    return redirect("coding:memo-list", project_id=memo.project_id)


@login_required
@require_GET
def memo_edit(request: HtmxHttpRequest, memo_id: int) -> HttpResponse:
    """A memo's type and "see also" links, with a picker for the passages to link: a page of
    its own (the inspector's "Link to passage…" opens it), or the memo overview's row fragment
    when htmx asks. Its author (an owner: any memo) may use it; it only reads."""
    memo = access.get_memo_to_label_for_user(request.user, memo_id)
    project = memo.project
    project.membership = memo.membership
    words = request.GET.get("q", "")[:200]
    transcript_id = None
    if request.GET.get("transcript"):
        transcript_id = access.get_transcript_for_user(request.user, request.GET["transcript"]).pk
        if not Transcript.objects.filter(pk=transcript_id, case__project=project).exists():
            raise Http404
    back = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}):
        back = ""
    # Where each form returns: this page (keeping the picker's search; htmx pushes its URL), or
    # the memo overview whose row holds the editor.
    edit_path = reverse("coding:memo-edit", args=[memo.pk])
    current = request.htmx.current_url_abs_path if request.htmx else None
    on_page = not request.htmx or (current or "").startswith(edit_path)
    here = request.get_full_path() if on_page else (back or current or "")
    candidates, n_candidates = memo_overview.passages_to_link(
        memo, words=words, transcript_id=transcript_id
    )
    form = MemoFilterForm(None, project=project)
    context = {
        "project": project,
        "m": memo_overview.memos_of(project).get(pk=memo.pk),
        "types": list(MemoType.objects.filter(project=project)),
        "link_codes": _choices(form, "code")[1:],
        "link_cases": _choices(form, "case")[1:],
        "transcripts": Transcript.objects.filter(case__project=project)
        .order_by("case__kind", "case__order", "interview_date", "title")
        .values_list("pk", "case__name", "title"),
        "candidates": candidates,
        "n_candidates": n_candidates,
        "words": words,
        "transcript_id": transcript_id,
        "back": back,
        "here": here or reverse("coding:memo-list", args=[project.pk]),
        "on_page": on_page,
    }
    if request.htmx:
        return render(request, "coding/memos/_edit.html", context)
    return render(request, "coding/memos/edit.html", context)


MEMO_EXPORT_LAYOUTS = (LAYOUT_MEMOS_BY_CODE, LAYOUT_MEMOS_BY_CASE)


@login_required
@require_POST
def memo_export(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """Start the Word export of the memos the overview's filter keeps (a chapter per code or per
    case); every member may, supervisors too. The job page shows its progress and file."""
    project = access.get_project_for_user(request.user, project_id)
    layout = request.POST.get("layout")
    if layout not in MEMO_EXPORT_LAYOUTS:
        raise Http404
    filters = {name: request.POST.get(name, "") for name in MemoFilterForm.base_fields}
    filters = {k: v for k, v in filters.items() if v}
    try:
        form = memo_exports.memo_filter(project, filters)
        memo_overview.filtered(project, form.cleaned_data)  # a bad search says so here
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("coding:memo-list", project_id=project.pk)
    job = services.export_start(
        project=project,
        user=request.user,
        params={
            "layout": layout,
            "memo_filters": filters,
            "codebook": False,
            "language": translation.get_language() or settings.LANGUAGE_CODE,
        },
    )
    return redirect("coding:job-detail", job_id=job.pk)
