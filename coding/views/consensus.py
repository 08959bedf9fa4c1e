"""The comparison view with the consensus beside the coders, and the consensus decisions.

Every member reads the comparison and the decisions; researchers and owners settle
(``access.may_settle_consensus``): supervisors are refused every POST with 403 and are offered
no control. A decision posted with htmx answers with its passage (and the counts and the history,
out of band); without htmx, post/redirect/get back to the passage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from coding import access, services
from coding.analysis import comparison, consensus
from coding.analysis.agreement_form import AgreementForm
from coding.analysis.specs import CodeTree
from coding.models import Code, ConsensusAction, Project, Transcript
from coding.views import HtmxHttpRequest


@dataclass
class Comparison:
    """What the comparison's query string chooses: one code, two or more coders."""

    project: Project
    transcript: Transcript
    code: Code
    coders: list[User]
    members: set[int]  # the code and, with sub-codes rolled up, its sub-codes
    rolled_up: bool


def chosen(query: QueryDict, transcript: Transcript) -> Comparison:
    """The code and coders of ``query`` (404 for ids that are not the project's)."""
    project = transcript.case.project
    project.membership = transcript.membership
    codebook = project.codebooks.get()
    (code,) = access.codes_of_codebook(codebook.pk, [query.get("code")])
    form = AgreementForm(query, project=project)
    if not form.is_valid():
        raise Http404
    users = {u.pk: u for u in form.coder_list}
    coders = [users[pk] for pk in form.cleaned_data["coders"] if pk in users]
    rolled_up = query.get("subcodes") == "rollup"
    members = CodeTree.of(project).subtree(code.pk) if rolled_up else {code.pk}
    return Comparison(project, transcript, code, coders, members, rolled_up)


def context(request: HtmxHttpRequest, c: Comparison) -> dict[str, Any]:
    """The comparison page's (and its fragments') context."""
    passages = comparison.compare(c.transcript, c.members, c.coders, viewer=c.transcript.membership)
    st = consensus.state(c.transcript, viewer=c.transcript.membership)
    rows = consensus.rows(c.transcript, c.code, passages, st, c.coders)
    back = request.GET.copy()
    back.pop("code", None)
    may_settle = (
        access.may_settle_consensus(c.transcript.membership, c.transcript) and not c.rolled_up
    )
    latest = st.latest()
    history = st.history(c.code.pk)
    membership = c.transcript.membership
    return {
        "project": c.project,
        "tab": "agreement",
        "transcript": c.transcript,
        "code": c.code,
        "coders": c.coders,
        "lanes": len(c.coders) + 1,
        "rows": rows,
        "passages": passages,
        "disagreements": sum(1 for p in passages if p.disagreement),
        "unsettled": sum(1 for r in rows if r.passage.disagreement and not r.settled),
        "history": history,
        # The history's decisions a settler may take back now (``models.later_dependents``).
        "undoable": {
            d.pk
            for d in history
            if may_settle and access.may_undo_consensus(membership, d) and st.undoable(d)
        },
        "back": back.urlencode(),
        "query": request.GET.urlencode(),
        # Reversed once, not once per passage.
        "decide_url": reverse("coding:analysis-consensus-decide", args=[c.transcript.pk])
        + f"?{request.GET.urlencode()}",
        # Settling works on one code: with sub-codes rolled up a passage mixes several.
        "may_settle": may_settle,
        "rolled_up": c.rolled_up,
        "may_undo": latest is not None and access.may_undo_consensus(membership, latest),
        "latest": latest,
        "consensus_empty": not st.begun,
    }


def _back_to(request: HtmxHttpRequest, c: Comparison) -> str:
    """The comparison again: the page's own query string (which the forms post to), or else
    the code and coders that were posted."""
    url = reverse("coding:analysis-agreement-compare", args=[c.transcript.pk])
    query = request.GET.copy()
    if not query.get("code"):
        query["code"] = str(c.code.pk)
        query.setlist("coders", [str(u.pk) for u in c.coders])
    return f"{url}?{query.urlencode()}"


def _settler_transcript(request: HtmxHttpRequest, transcript_id: int) -> Transcript:
    transcript = access.get_transcript_for_user(request.user, transcript_id, access.WRITE)
    if not access.may_settle_consensus(transcript.membership, transcript):
        raise PermissionDenied
    return transcript


def _int(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return None


@login_required
@require_POST
def consensus_decide(request: HtmxHttpRequest, transcript_id: int) -> HttpResponse:
    """Settle one passage: ``choice`` is "keep:<coder id>", "merge", "new" (with ``span_start``
    and ``span_end`` in code points) or "drop"; ``start`` and ``end`` name the passage."""
    transcript = _settler_transcript(request, transcript_id)
    c = chosen(request.POST, transcript)
    if c.rolled_up:
        raise Http404  # settling works on one code (the page offers no control)
    choice = request.POST.get("choice", "")
    action, _sep, keep_id = choice.partition(":")
    keep = next((u for u in c.coders if str(u.pk) == keep_id), None)
    start, end = _int(request.POST.get("start")), _int(request.POST.get("end"))
    if start is None or end is None:
        raise Http404
    span = None
    if action == ConsensusAction.NEW:
        s, e = _int(request.POST.get("span_start")), _int(request.POST.get("span_end"))
        span = (s, e) if s is not None and e is not None else None
    errors: list[str] = []
    try:
        services.consensus_decide(
            membership=transcript.membership,
            transcript=transcript,
            code=c.code,
            coders=c.coders,
            action=action,
            passage=(start, end),
            keep=keep,
            span=span,
            reason=request.POST.get("reason", ""),
        )
    except ValidationError as exc:
        errors = list(exc.messages)
    if not request.htmx:
        if errors:
            ctx = context(request, c)
            ctx |= {"error_at": (start, end), "errors": errors, "posted": request.POST}
            return render(request, "coding/analysis/agreement_compare.html", ctx, status=400)
        messages.success(request, _("The passage is settled in the consensus."))
        return HttpResponseRedirect(_back_to(request, c))
    ctx = context(request, c)
    row = next(
        (r for r in ctx["rows"] if (r.passage.start, r.passage.end) == (start, end)),
        None,
    )
    if row is None:  # the passage is gone (the coders changed it): show the page afresh
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    ctx |= {
        "r": row,
        "oob": True,
        "errors": errors,
        "error_at": (start, end) if errors else None,
        "posted": request.POST if errors else None,
    }
    return render(request, "coding/analysis/_consensus_passage.html", ctx)


@login_required
@require_POST
def consensus_start(request: HtmxHttpRequest, transcript_id: int) -> HttpResponse:
    """Begin the transcript's consensus from one coder's codings (``coder``)."""
    transcript = _settler_transcript(request, transcript_id)
    c = chosen(request.POST, transcript)
    coder = next((u for u in c.coders if str(u.pk) == request.POST.get("coder")), None)
    if coder is None:
        raise Http404
    try:
        services.consensus_start_from(
            membership=transcript.membership, transcript=transcript, coder=coder
        )
    except ValidationError as exc:
        for m in exc.messages:
            messages.error(request, m)
    else:
        messages.success(request, _("The consensus starts from this coder's coding."))
    return HttpResponseRedirect(_back_to(request, c))


@login_required
@require_POST
def consensus_undo(request: HtmxHttpRequest, transcript_id: int) -> HttpResponse:
    """Undo one consensus decision: ``decision`` (an id from the history), or else the
    transcript's latest."""
    transcript = _settler_transcript(request, transcript_id)
    c = chosen(request.POST, transcript)  # the way back must be a valid comparison
    posted = request.POST.get("decision")
    named = access.consensus_decision_of(transcript, posted) if posted else None
    try:
        undone = services.consensus_undo(
            membership=transcript.membership, transcript=transcript, decision=named
        )
    except ValidationError as exc:
        for m in exc.messages:
            messages.error(request, m)
    else:
        if undone is None:
            messages.info(request, _("There is no consensus decision to undo."))
        elif named is not None:
            messages.success(request, _("The consensus decision is undone."))
        else:
            messages.success(request, _("The latest consensus decision is undone."))
    return HttpResponseRedirect(_back_to(request, c))
