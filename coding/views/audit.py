"""History pages: who changed what in the coding, and when (AuditEvent rows, read-only).

Every member may read them; supervisors use them to follow the coding without changing it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET

from coding import access
from coding.models import (
    AuditAction,
    AuditEvent,
    AuditEventQuerySet,
    CodingLayer,
    ConsensusAction,
    Excerpt,
    Project,
    Role,
)
from coding.views import AuthenticatedHttpRequest

PAGE_SIZE = 50
# Codebook changes alter codings in every transcript without naming one; the transcript's history
# shows them too, marked as codebook-wide.
CODEBOOK_WIDE = (AuditAction.CODE_MERGE, AuditAction.CODE_DELETE)
SNIPPET_CHARS = 160


@dataclass
class Row:
    event: AuditEvent
    summary: str
    passage: str | None
    codebook_wide: bool


def _span(d: dict) -> str:
    if "start" in d and "end" in d:
        return _("characters %(start)s–%(end)s") % {"start": d["start"], "end": d["end"]}
    return ""


def _role(value: str | None) -> str:
    try:
        return str(Role(value or "").label)
    except ValueError:
        return value or ""


def _code_names(d: dict) -> str:
    """The codes an event names: a list under "codes" (applying, undo) or one "code"."""
    names = d.get("codes") or ([d["code"]] if d.get("code") else [])
    return ", ".join(str(n) for n in names) or "?"


def describe(event: AuditEvent) -> str:
    """One readable line for an event; unknown detail keys are listed as they are."""
    d = event.details or {}
    line = _describe(event.action, d)
    if d.get("layer") == CodingLayer.CONSENSUS:
        line = f"{line} ({CodingLayer.CONSENSUS.label})"
    if d.get("undo_of"):
        return _("undid: %(change)s") % {"change": line}
    return line


def _consensus(a: str, d: dict) -> str:
    """A consensus decision, its start from a coder, or its undo (services.consensus)."""
    if a == AuditAction.CONSENSUS_START:
        return _("started the consensus from a coder's coding (%(n)s codings)") % {
            "n": d.get("codings", "?")
        }
    try:
        how = str(ConsensusAction(d.get("consensus", "")).label)
    except ValueError:
        how = str(d.get("consensus", "?"))
    if d.get("consensus") == ConsensusAction.START:
        return _("the consensus start from a coder's coding")
    line = _("settled %(code)s at %(span)s in the consensus: %(how)s") % {
        "code": d.get("code") or "?",
        "span": _span(d),
        "how": how,
    }
    if d.get("reason"):
        line += " " + _("(reason: %(reason)s)") % {"reason": d["reason"]}
    return line


def _describe(a: str, d: dict) -> str:
    if a in (AuditAction.CONSENSUS_DECIDE, AuditAction.CONSENSUS_START, AuditAction.CONSENSUS_UNDO):
        return _consensus(a, d)
    if a == AuditAction.CODING_ADD:
        return _("applied %(codes)s to %(span)s") % {"codes": _code_names(d), "span": _span(d)}
    if a == AuditAction.CODING_REMOVE:
        return _("removed %(code)s from %(span)s") % {"code": _code_names(d), "span": _span(d)}
    if a == AuditAction.EXCERPT_RESIZE:
        old, new = d.get("old") or ["?", "?"], d.get("new") or ["?", "?"]
        return _("moved a passage from %(o1)s–%(o2)s to %(n1)s–%(n2)s (%(codes)s)") % {
            "o1": old[0],
            "o2": old[1],
            "n1": new[0],
            "n2": new[1],
            "codes": ", ".join(d.get("codes", [])),
        }
    if a in (AuditAction.BLIND_CODING_ON, AuditAction.BLIND_CODING_OFF):
        on = a == AuditAction.BLIND_CODING_ON
        if d.get("scope") == "transcript":
            what = (
                _("turned blind coding on for %(title)s")
                if on
                else _("turned blind coding off for %(title)s")
            )
            return what % {"title": d.get("title", "?")}
        return (
            _("turned blind coding on for the project")
            if on
            else _("turned blind coding off for the project")
        )
    if a == AuditAction.ASSIGNMENT_ADD:
        return _("assigned %(title)s to %(coder)s") % {
            "title": d.get("title", "?"),
            "coder": d.get("coder_name", "?"),
        }
    if a == AuditAction.ASSIGNMENT_REMOVE:
        return _("removed the assignment of %(title)s to %(coder)s") % {
            "title": d.get("title", "?"),
            "coder": d.get("coder_name", "?"),
        }
    if a == AuditAction.ASSIGNMENT_DONE:
        what = _("marked %(title)s done") if d.get("done") else _("marked %(title)s not done")
        return what % {"title": d.get("title", "?")}
    if a == AuditAction.MEMO_SAVE:
        return _("wrote a memo (%(n)s characters)") % {"n": d.get("length", "?")}
    if a == AuditAction.MEMO_DELETE:
        return _("deleted a memo")
    if a in (AuditAction.MEMO_LINK_ADD, AuditAction.MEMO_LINK_REMOVE):
        target = (
            _("a passage") if d.get("excerpt") else _("a case") if d.get("case") else _("a code")
        )
        if a == AuditAction.MEMO_LINK_ADD:
            return _("linked a memo to %(target)s (“see also”)") % {"target": target}
        return _("removed a memo's link to %(target)s") % {"target": target}
    if a == AuditAction.KEY_QUOTE_ADD:
        return _("marked a passage as a key quote for %(code)s") % {"code": d.get("code_name", "?")}
    if a == AuditAction.KEY_QUOTE_REMOVE:
        return _("unmarked a key quote for %(code)s") % {"code": d.get("code_name", "?")}
    if a == AuditAction.CODE_MERGE:
        moved = d.get("moved", 0)
        return _("merged the code %(source)s into %(target)s (%(moved)s moved)") % {
            "source": d.get("source", "?"),
            "target": d.get("target", "?"),
            "moved": ngettext("%(n)s coding", "%(n)s codings", moved) % {"n": moved},
        }
    if a == AuditAction.CODE_DELETE:
        return _("deleted the code %(name)s with its %(codings)s codings") % {
            "name": d.get("name", "?"),
            "codings": d.get("codings", 0),
        }
    if a in (AuditAction.CODE_CREATE, AuditAction.CODE_UPDATE):
        return _("%(what)s %(name)s") % {
            "what": _("created the code")
            if a == AuditAction.CODE_CREATE
            else _("changed the code"),
            "name": d.get("name", "?"),
        }
    if a == AuditAction.TRANSCRIPT_IMPORT:
        return _("imported %(file)s (%(words)s words)") % {
            "file": d.get("file", "?"),
            "words": d.get("words", "?"),
        }
    if a == AuditAction.MEMBER_CHANGE:
        member, change = d.get("member", "?"), d.get("change")
        if change == "add":
            return _("added %(member)s as %(role)s") % {"member": member, "role": _role(d["role"])}
        if change == "remove":
            return _("removed %(member)s (their %(n)s codings stay)") % {
                "member": member,
                "n": d.get("codings_kept", 0),
            }
        if change == "role":
            return _("made %(member)s %(role)s (was %(old)s)") % {
                "member": member,
                "role": _role(d.get("role")),
                "old": _role(d.get("old_role")),
            }
    if a == AuditAction.CASE_SAVE:
        what = _("added the case %(name)s") if d.get("created") else _("changed the case %(name)s")
        return what % {"name": d.get("name", "?")}
    if a == AuditAction.INFORMANT_SAVE:
        what = (
            _("added the informant %(name)s")
            if d.get("created")
            else _("changed the informant %(name)s")
        )
        return what % {"name": d.get("name", "?")}
    if a == AuditAction.ATTRIBUTE_CREATE:
        return _("added the attribute %(name)s") % {"name": d.get("name", "?")}
    if a == AuditAction.ATTRIBUTE_DELETE:
        return _("deleted the attribute %(name)s with its %(n)s values") % {
            "name": d.get("name", "?"),
            "n": d.get("values", 0),
        }
    if a == AuditAction.FRAMEWORK_SAVE:
        where = " × ".join(str(n) for n in (d.get("case_name"), d.get("code_name")) if n)
        return _("saved the framework summary %(where)s (version %(v)s)") % {
            "where": where or "?",
            "v": d.get("version", "?"),
        }
    return ", ".join(f"{k}: {v}" for k, v in sorted(d.items()))


def _passage(text: str, details: object) -> str | None:
    if not isinstance(details, dict):
        return None
    start, end = details.get("start"), details.get("end")
    if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
        return text[start:end]
    return None


def _rows(events: list[AuditEvent]) -> list[Row]:
    excerpt_ids = {e.details.get("excerpt") for e in events if isinstance(e.details, dict)}
    texts: dict[int | None, str] = dict(
        Excerpt.objects.filter(pk__in=[i for i in excerpt_ids if isinstance(i, int)]).values_list(
            "pk", "text"
        )
    )
    rows = []
    for e in events:
        # The words at the event's own offsets: a transcript's text never changes, while the
        # excerpt may since have been moved in place (a resize keeps its id) or be gone.
        text = _passage(e.transcript.text, e.details) if e.transcript is not None else None
        if text is None and isinstance(e.details, dict):
            text = texts.get(e.details.get("excerpt"))
        if text and len(text) > SNIPPET_CHARS:
            text = text[: SNIPPET_CHARS - 1] + "…"
        rows.append(
            Row(e, describe(e), text, e.transcript_id is None and e.action in CODEBOOK_WIDE)
        )
    return rows


def _filtered(
    request: HttpRequest, events: AuditEventQuerySet, project: Project
) -> tuple[QuerySet, dict]:
    events = events.visible_to(project.membership)
    action = request.GET.get("action", "")
    actor = request.GET.get("actor", "")
    if action in AuditAction.values:
        events = events.filter(action=action)
    else:
        action = ""
    if actor.isdigit():
        events = events.filter(actor_id=int(actor))
    else:
        actor = ""
    actors = (
        get_user_model()
        .objects.filter(
            pk__in=AuditEvent.objects.filter(project=project)
            .visible_to(project.membership)
            .values("actor_id")
        )
        .order_by("username")
    )
    return events, {
        "action": action,
        "actor": actor,
        "actions": AuditAction.choices,
        "actors": actors,
    }


def _page(request: HttpRequest, events: QuerySet):
    page = Paginator(events.select_related("actor", "transcript"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return page, _rows(list(page.object_list))


@login_required
@require_GET
def transcript_history(request: AuthenticatedHttpRequest, transcript_id: int) -> HttpResponse:
    transcript = access.get_transcript_for_user(request.user, transcript_id)
    project = transcript.case.project
    project.membership = transcript.membership
    events = AuditEvent.objects.filter(
        Q(transcript=transcript)
        | Q(
            project=project,
            transcript__isnull=True,
            action__in=CODEBOOK_WIDE,
            created_at__gte=transcript.created_at,
        )
    )
    shown, filters = _filtered(request, events, project)
    page, rows = _page(request, shown)
    return render(
        request,
        "coding/audit/history.html",
        {
            "project": project,
            "transcript": transcript,
            "page": page,
            "rows": rows,
            **filters,
        },
    )


@login_required
@require_GET
def project_history(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id)
    events, filters = _filtered(request, AuditEvent.objects.filter(project=project), project)
    page, rows = _page(request, events)
    return render(
        request,
        "coding/audit/history.html",
        {"project": project, "transcript": None, "page": page, "rows": rows, **filters},
    )
