"""The memo overview: every memo of the project in one list, filtered and searchable by
Norwegian word forms; each opens where it belongs. Every member reads it."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.forms import ChoiceField, Form
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from coding import access, services
from coding.analysis import memo_overview
from coding.forms import MemoFilterForm
from coding.language import lemma_search
from coding.models import MemoLink, MemoType
from coding.views import AuthenticatedHttpRequest

# Offered when a project has no memo types yet (the owner may keep, change or clear them).
SUGGESTED_TYPES = ("Teoretisk", "Metodisk", "Refleksiv", "Å gjøre")


def _choices(form: Form, name: str) -> list[tuple[Any, Any]]:
    """A choice field's choices as the form set them: a list (the stubs allow any input)."""
    return cast(list[tuple[Any, Any]], cast(ChoiceField, form.fields[name]).choices)


@login_required
@require_GET
def memo_list(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id)
    form = MemoFilterForm(request.GET or None, project=project)
    listed: list = []
    query_error = ""
    total = None
    if form.is_bound and not form.is_valid():
        pass
    else:
        d = form.cleaned_data if form.is_bound else {}
        qs = memo_overview.memos_of(
            project,
            author_id=d.get("author"),
            kind=d.get("kind") or "",
            case_id=d.get("case"),
            code_id=d.get("code"),
            date_from=d.get("date_from"),
            date_to=d.get("date_to"),
            type_id=d.get("type"),
            viewer=project.membership,
        )
        if d.get("q"):
            try:
                query = lemma_search.parse_query(d["q"])
            except ValidationError as exc:
                query_error = " ".join(exc.messages)
            else:
                listed = memo_overview.matching(qs, query)
        else:
            listed = list(qs[: memo_overview.MAX_LISTED + 1])
        total = len(listed)
        listed = listed[: memo_overview.MAX_LISTED]
    for m in listed:
        m.kind_label = MemoFilterForm.KIND_LABELS[m.kind]
    # The other side of "see also": memos listed under a case or code because they link to it.
    linked_here: set[int] = set()
    d = form.cleaned_data if form.is_bound and form.is_valid() else {}
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
            "memos": listed,
            "total": total,
            "limit": memo_overview.MAX_LISTED,
            "query_error": query_error,
            "types": list(MemoType.objects.filter(project=project)),
            "linked_here": linked_here,
            "link_codes": _choices(form, "code")[1:],
            "link_cases": _choices(form, "case")[1:],
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
    """Add a "see also" link from a memo to a code or a case, or remove one (``remove``)."""
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
            code=code,
            case=case,
            excerpt=excerpt,
            linked=not request.POST.get("remove"),
        )
    except ValidationError as exc:
        raise Http404 from exc  # a case or passage of another of the user's projects
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, {request.get_host()}):
        return redirect(back)
    return redirect("coding:memo-list", project_id=memo.project_id)
