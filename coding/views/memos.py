"""The memo overview: every memo of the project in one list, filtered and searchable by
Norwegian word forms; each opens where it belongs. Every member reads it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import access, memos, search
from ..forms import MemoFilterForm


@login_required
@require_GET
def memo_list(request: HttpRequest, project_id: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id)
    form = MemoFilterForm(request.GET or None, project=project)
    listed: list = []
    query_error = ""
    total = None
    if form.is_bound and not form.is_valid():
        pass
    else:
        d = form.cleaned_data if form.is_bound else {}
        qs = memos.memos_of(
            project,
            author_id=d.get("author"),
            kind=d.get("kind") or "",
            case_id=d.get("case"),
            code_id=d.get("code"),
            date_from=d.get("date_from"),
            date_to=d.get("date_to"),
        )
        if d.get("q"):
            try:
                query = search.parse_query(d["q"])
            except ValidationError as exc:
                query_error = " ".join(exc.messages)
            else:
                listed = memos.matching(qs, query)
        else:
            listed = list(qs[: memos.MAX_LISTED + 1])
        total = len(listed)
        listed = listed[: memos.MAX_LISTED]
    for m in listed:
        m.kind_label = MemoFilterForm.KIND_LABELS[m.kind]
    return render(
        request,
        "coding/memos/list.html",
        {
            "project": project,
            "form": form,
            "memos": listed,
            "total": total,
            "limit": memos.MAX_LISTED,
            "query_error": query_error,
        },
    )
