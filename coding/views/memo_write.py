"""Writing memos on a case, a code, a transcript or the project (issue 17), where each belongs:
the case page, the codebook, the transcript view, the project home and the memo overview.

One view per kind of target, all through ``_write``: a GET answers the form (a new memo, or
``?memo=`` one's own to edit; the fragment when htmx asks, a page otherwise), a POST saves it
(``memo``: one's own to edit) or deletes it (``delete``) and returns to ``next`` (post/redirect/
get; htmx is told to go there). Researchers and owners write; a memo's text is edited and deleted
by its author only (``access.may_edit_memo``); supervisors read memos and write none (403), as
everywhere else. Passage memos are written in the inspector (``workspace.excerpt_memo``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from coding import access, services
from coding.forms import MemoFilterForm, MemoForm
from coding.models import Case, Code, Membership, Memo, Project, Transcript
from coding.views import HtmxHttpRequest

# The service's refusals that are about the text (shown under the text field).
TEXT_ERRORS = {"memo_empty", "memo_too_long", "null_characters"}
# The new-memo form's heading, per kind of target (whole sentences: the words inflect).
NEW_HEADINGS = {
    "case": gettext_lazy("New memo on this case"),
    "code": gettext_lazy("New memo on this code"),
    "transcript": gettext_lazy("New memo on this transcript"),
    "project": gettext_lazy("New memo on the project"),
}


@dataclass(frozen=True)
class Target:
    """What a memo is written on: ``on`` holds its one case, code or transcript (empty: the
    project); ``action`` is the form's URL, ``back`` the page where the memo is shown."""

    project: Project
    membership: Membership
    kind: str
    name: str
    action: str
    back: str
    on: dict[str, Case | Code | Transcript] = field(default_factory=dict)

    def holds(self, memo: Memo) -> bool:
        """Whether ``memo`` is written on this target (not on a passage or elsewhere)."""
        if memo.project_id != self.project.pk or memo.excerpt_id is not None:
            return False
        return all(
            getattr(memo, f"{kind}_id") == (self.on[kind].pk if kind in self.on else None)
            for kind in ("transcript", "case", "code")
        )

    @property
    def slot(self) -> str:
        """The new-memo form's element id, unique on a page holding several."""
        target = next(iter(self.on.values()), self.project)
        return f"memo-new-{self.kind}-{target.pk}"


def _form_context(
    target: Target, form: MemoForm, *, memo: Memo | None, slot: str, next_url: str, inline: bool
) -> dict:
    """What ``coding/memos/_write.html`` reads (as ``w``)."""
    return {
        "form": form,
        "memo": memo,
        "target": target,
        "kind_label": MemoFilterForm.KIND_LABELS[target.kind],
        "heading": _("Edit your memo") if memo else NEW_HEADINGS[target.kind],
        "next": next_url,
        "slot": slot,
        "inline": inline,
    }


def write_form(target: Target) -> dict:
    """The context for a new memo's form on ``target`` shown on the page itself (the case page,
    the project home): ``{% include "coding/memos/_write.html" %}`` reads it."""
    form = MemoForm(project=target.project, auto_id=f"{target.slot}-%s")
    return {"w": _form_context(target, form, memo=None, slot=target.slot, next_url="", inline=True)}


def _safe_next(request: HtmxHttpRequest, url: str) -> str:
    return url if url and url_has_allowed_host_and_scheme(url, {request.get_host()}) else ""


def _own_memo(request: HtmxHttpRequest, target: Target, raw: str) -> Memo | None:
    """The memo ``raw`` names, which must be on ``target`` (404) and the requester's to edit
    (403); None when no memo is named (a new one)."""
    if not raw:
        return None
    memo = access.get_memo_for_user(request.user, raw, access.WRITE)
    if not target.holds(memo):
        raise Http404
    if not access.may_edit_memo(target.membership, memo):
        raise PermissionDenied
    return memo


def _go(request: HtmxHttpRequest, url: str) -> HttpResponse:
    """Post/redirect/get; htmx is told to go to ``url``, or to reload the page it is on when
    ``url`` is that page (a redirect to it with only a #fragment more would not reload)."""
    if not request.htmx:
        return redirect(url)
    current = request.htmx.current_url_abs_path or ""
    if current.split("#")[0] == url.split("#")[0]:
        return HttpResponseClientRefresh()
    return HttpResponseClientRedirect(url)


def _write(request: HtmxHttpRequest, target: Target) -> HttpResponse:
    params = request.POST if request.method == "POST" else request.GET
    memo = _own_memo(request, target, params.get("memo", ""))
    back = _safe_next(request, params.get("next", "")) or target.back
    if request.method == "POST" and params.get("delete"):
        if memo is None:
            raise Http404
        services.memo_delete(memo=memo, actor=request.user)
        messages.success(request, _("Memo deleted."))
        return _go(request, back)
    slot = f"memo-{memo.pk}" if memo else target.slot
    initial = (
        {"title": memo.title, "text": memo.text, "memo_type": memo.memo_type_id} if memo else {}
    )
    form = MemoForm(
        request.POST if request.method == "POST" else None,
        project=target.project,
        initial=initial,
        auto_id=f"{slot}-%s",
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            # The text and the type together or neither.
            with transaction.atomic():
                saved = services.memo_save(
                    project=target.project,
                    author=request.user,
                    text=d["text"],
                    title=d["title"],
                    memo=memo,
                    **target.on,  # type: ignore[arg-type]  # the one key names its own type
                )
                if "memo_type" in form.fields:
                    services.memo_type_assign(memo=saved, memo_type=d["memo_type"])
        except ValidationError as exc:
            form.add_error("text" if exc.code in TEXT_ERRORS else None, exc)
        else:
            messages.success(request, _("Memo saved."))
            return _go(request, back)
    context = {
        "project": target.project,
        "w": _form_context(target, form, memo=memo, slot=slot, next_url=back, inline=False),
    }
    if request.htmx:
        # An error is shown in the swapped fragment: htmx swaps only 2xx answers.
        return render(request, "coding/memos/_write.html", context)
    return render(request, "coding/memos/write.html", context, status=400 if form.errors else 200)


def target_for(
    project: Project, membership: Membership, on: Case | Code | Transcript | None = None
) -> Target:
    """The target of the memos on ``on`` (None: the project). Where such a memo is shown and
    where its form is are the memo's own rules (``Memo.target_url``, ``Memo.write_url``)."""
    fields: dict[str, Case | Code | Transcript] = {}
    if on is not None:
        fields = {type(on).__name__.lower(): on}
    draft = Memo(project=project, **fields)
    back = draft.target_url()
    if draft.kind == "case":
        back += "#case-memos"
    if isinstance(on, Transcript):
        name = f"{on.case.name} · {on.title}"
    else:
        name = (on or project).name
    return Target(
        project=project,
        membership=membership,
        kind=draft.kind,
        name=name,
        action=draft.write_url(),
        back=back,
        on=fields,
    )


@login_required
@require_http_methods(["GET", "POST"])
def case_memo(request: HtmxHttpRequest, case_id: int) -> HttpResponse:
    """A memo on a case, shown on the case page."""
    case = access.get_case_for_user(request.user, case_id, access.WRITE)
    return _write(request, target_for(case.project, case.membership, case))


@login_required
@require_http_methods(["GET", "POST"])
def code_memo(request: HtmxHttpRequest, code_id: int) -> HttpResponse:
    """A memo on a code, shown under the code in the codebook."""
    code = access.get_code_for_user(request.user, code_id, access.WRITE)
    return _write(request, target_for(code.codebook.project, code.membership, code))


@login_required
@require_http_methods(["GET", "POST"])
def transcript_memo(request: HtmxHttpRequest, transcript_id: int) -> HttpResponse:
    """A memo on a transcript, shown in the transcript view (everyone reads it, blind coding
    or not: it is about the interview, not about anyone's codings)."""
    transcript = access.get_transcript_for_user(request.user, transcript_id, access.WRITE)
    return _write(request, target_for(transcript.case.project, transcript.membership, transcript))


@login_required
@require_http_methods(["GET", "POST"])
def project_memo(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    """A memo on the project as a whole, shown on the project home."""
    project = access.get_project_for_user(request.user, project_id, access.WRITE)
    return _write(request, target_for(project, project.membership))
