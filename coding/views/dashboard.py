"""The supervisors' dashboard: every member may read it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from coding import access
from coding.analysis import memo_overview
from coding.analysis import supervision as board
from coding.views import AuthenticatedHttpRequest


@login_required
@require_GET
def dashboard(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id)
    return render(
        request,
        "coding/analysis/dashboard.html",
        {
            "project": project,
            "board": board.build(project, viewer=project.membership),
            "tab": "dashboard",
            "recent_memos": memo_overview.recent(project, viewer=project.membership),
        },
    )
