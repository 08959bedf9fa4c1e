"""Blind coding and assignments (issue 13): owners turn blind coding on and off for the project
and per transcript and assign transcripts to coders; a coder marks an assignment done.

The settings and assignments are shown on the project home (views.projects) and, per
transcript, on the transcript's page; every change is audited (services.blind).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from coding import access, services
from coding.forms import AssignmentForm, TranscriptBlindForm
from coding.views import AuthenticatedHttpRequest
from coding.views.projects import _project_home


def _back(request: AuthenticatedHttpRequest, default: str) -> HttpResponse:
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(
        back, {request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)
    return redirect(default)


@login_required
@require_POST
def project_blind(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """Turn the project's blind coding on (``blind_coding=1``) or off."""
    project = access.get_project_for_user(request.user, project_id, access.OWN)
    if not access.may_set_blind_coding(project.membership):
        raise PermissionDenied
    on = request.POST.get("blind_coding") == "1"
    if services.blind_coding_set(project=project, on=on, actor=request.user):
        messages.success(request, _("Blind coding is on.") if on else _("Blind coding is off."))
    return redirect(f"{project.get_absolute_url()}#blind")


@login_required
@require_POST
def transcript_blind(request: AuthenticatedHttpRequest, transcript_id: int) -> HttpResponse:
    """Set a transcript's own blind coding: as the project, on or off."""
    transcript = access.get_transcript_for_user(request.user, transcript_id, access.OWN)
    if not access.may_set_blind_coding(transcript.membership):
        raise PermissionDenied
    form = TranscriptBlindForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a blind coding setting."))
    else:
        try:
            services.transcript_blind_set(
                transcript=transcript, mode=form.cleaned_data["blind_mode"], actor=request.user
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Blind coding of the transcript saved."))
    return _back(request, transcript.get_absolute_url())


@login_required
@require_POST
def assignments_add(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """Assign the chosen transcripts to each of the chosen coders."""
    project = access.get_project_for_user(request.user, project_id, access.OWN)
    if not access.may_assign(project.membership):
        raise PermissionDenied
    form = AssignmentForm(request.POST, project=project)
    if form.is_valid():
        try:
            n = services.assignments_add(
                project=project,
                transcripts=form.cleaned_data["transcripts"],
                coders=form.cleaned_data["coders"],
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                ngettext("%(n)s assignment made.", "%(n)s assignments made.", n) % {"n": n},
            )
            return redirect(f"{project.get_absolute_url()}#assignments")
    return _project_home(request, project, assignment_form=form, status=400)


@login_required
@require_POST
def assignment_remove(request: AuthenticatedHttpRequest, assignment_id: int) -> HttpResponse:
    assignment = access.get_assignment_for_user(request.user, assignment_id, access.OWN)
    if not access.may_assign(assignment.membership):
        raise PermissionDenied
    project = assignment.transcript.case.project
    services.assignment_remove(assignment=assignment, actor=request.user)
    messages.success(request, _("Assignment removed."))
    return redirect(f"{project.get_absolute_url()}#assignments")


@login_required
@require_POST
def assignment_done(request: AuthenticatedHttpRequest, assignment_id: int) -> HttpResponse:
    """The assigned coder marks the assignment done (``done=1``) or not done."""
    assignment = access.get_assignment_for_user(request.user, assignment_id, access.WRITE)
    if not access.may_mark_assignment_done(assignment.membership, assignment):
        raise PermissionDenied
    services.assignment_done_set(
        assignment=assignment, done=request.POST.get("done") == "1", actor=request.user
    )
    project = assignment.transcript.case.project
    return _back(request, f"{project.get_absolute_url()}#assignments")
