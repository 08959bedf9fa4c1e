"""Coding suggestions: a small JSON API for the transcript view, accept and reject, a review
page per transcript, and the project's page on how useful suggestions are.

The JSON API (used by static/coding/suggestions.js):

- GET  transcripts/<id>/suggestions/      {"suggestions": [...], "can_write", "model", "status"}
- POST suggestions/<id>/accept/           {"ok": true, "coding": id, "excerpt": id}
- POST suggestions/<id>/reject/           {"ok": true}
- POST suggestions/<id>/keyword-remove/   keyword=...  {"ok": true, "keywords": [left]}

Each suggestion carries its evidence: the keywords that matched ("keywords"), the model's score
where the model knows the code ("score"), and the snippet cut into parts with the keyword hits
marked ("snippet_parts": [{"text", "hit"}]; the script writes them as text, never as HTML).

Offsets are sent both as code points ("start", "end") and as UTF-16 code units ("start16",
"end16") for pages that place marks by the browser's own offsets.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from coding import access, services
from coding.language import classifier, suggestions
from coding.models import (
    JobKind,
    JobStatus,
    Project,
    Suggestion,
    SuggestionSource,
    Transcript,
    job_fail_if_stale,
)
from coding.offsets import Utf16Map
from coding.views import AuthenticatedHttpRequest

SNIPPET_CHARS = 220
SNIPPET_LEAD = 60


def _hit_pattern(keywords: list[str]) -> re.Pattern | None:
    """Where the keywords' words stand in the text: each word as the start of a word, so
    "brukerråd" marks "brukerrådet" (the match itself was made by lemma; an irregular form
    such as "gikk" for "gå" is found but not marked)."""
    alts = [
        r"\W+".join(rf"\b{re.escape(w)}\w*" for w in kw.split())
        for kw in sorted(keywords, key=len, reverse=True)
        if kw.split()
    ]
    return re.compile("|".join(alts), re.IGNORECASE) if alts else None


def _snippet(text: str, keywords: list[str] | None = None) -> tuple[str, list[dict]]:
    """The passage shortened to about SNIPPET_CHARS (beginning a little before the first
    keyword hit when that lies further in), and the same text in parts with the hits marked."""
    text = " ".join(text.split())
    pattern = _hit_pattern(keywords or [])
    first = pattern.search(text) if pattern else None
    prefix = ""
    if first is not None and first.end() > SNIPPET_CHARS - 20:
        cut = text.rfind(" ", 0, max(0, first.start() - SNIPPET_LEAD))
        text = text[cut + 1 :] if cut >= 0 else text
        prefix = "… "
    if len(text) > SNIPPET_CHARS:
        cut = text.rfind(" ", 0, SNIPPET_CHARS)
        text = text[: cut if cut > 0 else SNIPPET_CHARS] + " …"
    text = prefix + text
    parts: list[dict] = []
    pos = 0
    for m in pattern.finditer(text) if pattern else ():
        if m.start() > pos:
            parts.append({"text": text[pos : m.start()], "hit": False})
        parts.append({"text": m.group(0), "hit": True})
        pos = m.end()
    if pos < len(text):
        parts.append({"text": text[pos:], "hit": False})
    return text, parts


def _why(s: Suggestion) -> str:
    parts = []
    if s.source in (SuggestionSource.KEYWORD, SuggestionSource.BOTH) and s.keywords:
        parts.append(_("Keywords: %(words)s") % {"words": s.keywords})
    if s.score is not None:
        parts.append(
            _("Learned from your coding (%(pct)s %% sure)") % {"pct": round(100 * s.score)}
        )
    return " · ".join(parts)


def _status(project: Project) -> tuple[dict | None, str]:
    """The model in use, and a sentence on where suggestions come from."""
    row = suggestions.latest_classifier(project)
    job = project.jobs.filter(kind=JobKind.TRAIN).order_by("-created_at").first()
    if job is not None:
        job_fail_if_stale(job)
    if job is not None and job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
        message = _("Learning from the coding now; suggestions follow when it is done.")
    elif row is None:
        message = (
            job.message
            if job is not None and job.status == JobStatus.DONE and job.message
            else _("No model is trained yet: suggestions come from the codes' keywords.")
        )
    else:
        message = _("Suggestions come from the codes' keywords and model version %(v)s.") % {
            "v": row.version
        }
    model = (
        {"version": row.version, "trained_at": row.created_at.isoformat(), "codes": len(row.codes)}
        if row
        else None
    )
    return model, message


def _labels() -> dict[str, str]:
    """The script's words, translated here (the script has no catalogue of its own)."""
    return {
        "count_one": _("%(n)s suggestion"),
        "count_other": _("%(n)s suggestions"),
        "hide": _("Hide the marks"),
        "show": _("Show the marks"),
        "overview": _("How useful are suggestions?"),
        "fold": _("Fold the suggestions bar"),
        "unfold": _("Unfold the suggestions bar"),
        "layer": _("Suggested codes"),
        "accept": _("Accept"),
        "reject": _("Reject"),
        "close": _("Close"),
        "open": _("Show in the transcript"),
        "accepted": _("Coded."),
        "rejected": _("Rejected; it will not be suggested to you again."),
        "read_only": _("Supervisors see suggestions but do not code."),
        "error": _("Could not save:"),
        "remove_keyword": _("Remove the keyword “%(kw)s” from the code"),
        "keyword_removed": _("Removed from the code's keywords; suggestions are refreshed."),
    }


@login_required
@require_GET
def transcript_suggestions(request: AuthenticatedHttpRequest, transcript_id: int) -> JsonResponse:
    transcript = access.get_transcript_for_user(request.user, transcript_id)
    project = transcript.case.project
    can_write = transcript.membership.can_write
    # Reading never starts work: the model is retrained by the schedule
    # (maintenance.retrain_due_models) or on a POST from the suggestions page.
    text = transcript.text
    items = suggestions.open_for(transcript, request.user)
    model, message = _status(project)
    # The learned model has read every coder's codings, this transcript's too: a researcher
    # who codes it blind gets the keyword suggestions only, as keyword suggestions.
    blinded = access.is_blinded(transcript.membership, transcript)
    if blinded:
        items = [s for s in items if s.source != SuggestionSource.MODEL]
        for s in items:
            s.source, s.score = SuggestionSource.KEYWORD, None
        model = None
        message = _(
            "You code this transcript blind: suggestions come from the codes' keywords only, "
            "since the learned model has read other coders' codings."
        )
    u16 = Utf16Map(text)
    out = []
    for s in items:
        keywords = [k for k in s.keywords.split(", ") if k]
        snippet, parts = _snippet(text[s.start : s.end], keywords)
        out.append(
            {
                "id": s.pk,
                "start": s.start,
                "end": s.end,
                "start16": u16.to_u16(s.start),
                "end16": u16.to_u16(s.end),
                "code": {"id": s.code_id, "name": s.code.name, "color": s.code.color},
                "source": s.source,
                "source_label": str(SuggestionSource(s.source).label),
                "score": round(s.score, 3) if s.score is not None else None,
                "keywords": keywords,
                "why": _why(s),
                "snippet": snippet,
                "snippet_parts": parts,
                "open_url": transcript.passage_url(s.start, s.end),
                "accept_url": reverse("coding:suggestion-accept", args=[s.pk]),
                "reject_url": reverse("coding:suggestion-reject", args=[s.pk]),
                "keyword_remove_url": reverse("coding:suggestion-keyword-remove", args=[s.pk]),
            }
        )
    return JsonResponse(
        {
            "transcript": transcript.pk,
            "can_write": can_write,
            "model": model,
            "status": message,
            "overview_url": reverse("coding:suggestions", args=[project.pk]),
            "labels": _labels(),
            "suggestions": out,
        }
    )


@login_required
@require_POST
def suggestion_accept(request: AuthenticatedHttpRequest, suggestion_id: int) -> JsonResponse:
    suggestion = access.get_suggestion_for_user(request.user, suggestion_id, access.WRITE)
    try:
        coding = services.suggestion_accept(suggestion=suggestion, user=request.user)
    except ValidationError as exc:
        return JsonResponse({"ok": False, "error": " ".join(exc.messages)}, status=400)
    return JsonResponse(
        {
            "ok": True,
            "coding": coding.pk,
            "excerpt": coding.content_object_id,
            "start": suggestion.start,
            "end": suggestion.end,
            "code": suggestion.code_id,
        }
    )


@login_required
@require_POST
def suggestion_reject(request: AuthenticatedHttpRequest, suggestion_id: int) -> JsonResponse:
    suggestion = access.get_suggestion_for_user(request.user, suggestion_id, access.WRITE)
    services.suggestion_reject(suggestion=suggestion, user=request.user)
    return JsonResponse({"ok": True})


@login_required
@require_POST
def suggestion_keyword_remove(
    request: AuthenticatedHttpRequest, suggestion_id: int
) -> JsonResponse:
    """Take a keyword that made this suggestion off its code (a writer, from the card)."""
    suggestion = access.get_suggestion_for_user(request.user, suggestion_id, access.WRITE)
    try:
        left = services.code_keyword_remove(
            code=suggestion.code, actor=request.user, keyword=request.POST.get("keyword", "")
        )
    except ValidationError as exc:
        return JsonResponse({"ok": False, "error": " ".join(exc.messages)}, status=400)
    return JsonResponse({"ok": True, "code": suggestion.code_id, "keywords": left})


@login_required
@require_GET
def transcript_review(request: AuthenticatedHttpRequest, transcript_id: int) -> HttpResponse:
    """The transcript's informant turns with the suggestion marks (suggestions.js)."""
    transcript = access.get_transcript_for_user(request.user, transcript_id)
    turns = list(transcript.turns.select_related("informant").order_by("index"))
    for turn in turns:
        turn.body = transcript.text[turn.content_start : turn.end]
    return render(
        request,
        "coding/suggestions/review.html",
        {"transcript": transcript, "project": transcript.case.project, "turns": turns},
    )


@login_required
@require_GET
def overview(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id)
    model, message = _status(project)
    rows = suggestions.usefulness(project)
    return render(
        request,
        "coding/suggestions/overview.html",
        {
            "project": project,
            "can_write": project.membership.can_write,
            "rows": rows,
            "versions": suggestions.classifier_usefulness(project),
            "model": model,
            "status": message,
            "min_coded": classifier.MIN_CODED,
            "min_per_code": classifier.MIN_POSITIVES,
            "retrain_after": settings.SUGGESTIONS_RETRAIN_AFTER,
            "jobs": project.jobs.filter(kind__in=[JobKind.TRAIN, JobKind.SUGGEST]).order_by(
                "-created_at"
            )[:5],
            "transcripts": Transcript.objects.filter(case__project=project)
            .select_related("case")
            .defer("text")
            .order_by("case__order", "case__name", "title"),
        },
    )


@login_required
@require_POST
def train(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id, access.WRITE)
    job = services.language_job_start(project=project, user=request.user, kind=JobKind.TRAIN)
    return redirect("coding:job-detail", job_id=job.pk)


@login_required
@require_POST
def refresh(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id, access.WRITE)
    job = services.language_job_start(project=project, user=request.user, kind=JobKind.SUGGEST)
    return redirect("coding:job-detail", job_id=job.pk)
