"""The transcript view, where researchers code, and the small JSON endpoints its script calls.

The page renders the text once; the codings travel as compact rows in a JSON script block and
the ES modules in ``static/coding/workspace/`` lay the highlights over the text. Every write
answers with a delta: the current rows of the excerpts it touched (``removed`` for those that are
gone), the project-wide counts of the codes involved, and the label of the next undo. Offsets on
the wire are UTF-16 and are converted by ``coding.offsets`` before anything reaches ``services``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from coding import access, services
from coding.analysis import memo_overview, transcript_page
from coding.models import BlindMode, Code, Codebook, Coding, Excerpt, MemoLink, Transcript
from coding.offsets import OffsetError, Utf16Map, parse_offset, span_from_u16
from coding.people import display_name
from coding.views import AuthenticatedHttpRequest


def _error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _validation_error(exc: ValidationError) -> JsonResponse:
    return _error(" ".join(exc.messages))


def _bad_offsets() -> JsonResponse:
    return _error(_("The selection could not be read. Reload the page and try again."))


def _codebook(transcript: Transcript) -> Codebook | None:
    return Codebook.objects.filter(project_id=transcript.case.project_id).first()


def _delta(
    request: AuthenticatedHttpRequest,
    transcript: Transcript,
    umap: Utf16Map,
    excerpt_ids: set[int],
    code_ids: set[int],
    **extra: Any,
) -> JsonResponse:
    # Not transcript.membership: a write may reach the transcript through its excerpt or coding.
    viewer = access.membership_for(request.user, transcript.case.project_id)
    rows = transcript_page.excerpt_rows(transcript.pk, umap, excerpt_ids, viewer=viewer)
    undo = services.undoable_event(transcript=transcript, actor=request.user)
    return JsonResponse(
        {
            "excerpts": rows,
            "removed": sorted(excerpt_ids - {r[0] for r in rows}),
            "counts": transcript_page.code_counts(
                _codebook(transcript), code_ids=code_ids, viewer=viewer
            ),
            "coders": transcript_page.coders_of(rows),
            "undo": transcript_page.undo_label(undo),
            **extra,
        }
    )


def _strings() -> dict[str, str]:
    """Texts the script shows, translated here so the script holds no UI language."""
    return {
        "saving": _("Saving…"),
        "saved": _("Saved"),
        "coded": _("Coded"),
        "removed": _("Code removed"),
        "resized": _("Boundaries changed"),
        "memoSaved": _("Memo saved"),
        "memoDeleted": _("Memo deleted"),
        "nothingToUndo": _("Nothing to undo."),
        "forbidden": _("You can read this transcript but not change its coding."),
        "notFound": _("That was not found. Reload the page to see the latest coding."),
        "failed": _("That did not work. Check your connection and try again."),
        "noCodes": _("No code matches."),
        "recent": _("Recently used"),
        "allCodes": _("Codebook"),
        "apply": _("Apply"),
        "applyN": _("Apply %(n)s codes"),
        "inVivo": _("In vivo: “%(name)s”"),
        "selectFirst": _("Select a passage first."),
        "by": _("by %(coder)s"),
        "you": _("you"),
        "memo": _("Memo"),
        "memos": _("Memos"),
        "writeMemo": _("Write a memo on this passage…"),
        "saveMemo": _("Save memo"),
        "deleteMemo": _("Delete"),
        "seeAlso": _("See also"),
        "linkPassage": _("Link to a passage…"),
        "linkedHere": _("Memos linking to this passage"),
        "removeCode": _("Remove this code from the passage"),
        "paragraph": _("¶ %(n)s"),
        "codesOnPassage": _("Codes on this passage"),
        "addCode": _("Add code"),
        "boundaries": _("Boundaries"),
        "start": _("Start"),
        "end": _("End"),
        "earlier": _("earlier"),
        "later": _("later"),
        "startEarlier": _("Start one word earlier"),
        "startLater": _("Start one word later"),
        "endEarlier": _("End one word earlier"),
        "endLater": _("End one word later"),
        "toSentence": _("Whole sentences"),
        "toTurn": _("Whole turn"),
        "useSelection": _("Use selection"),
        "useSelectionHelp": _("Select the new extent in the text, then press “Use selection”."),
        "close": _("Close"),
        "overlaps": _("Other passages here"),
        "readOnly": _("Read only"),
        "coding": _("%(n)s coding"),
        "codings": _("%(n)s codings"),
    }


def _focus(request: HttpRequest, transcript: Transcript, umap: Utf16Map) -> list[int] | None:
    """The passage a link opens (``models.passage_url``: ``?start=&end=`` in code points) as the
    UTF-16 span the page scrolls to, marks and opens in the inspector; None when absent or not a
    span of this text. ``?excerpt=ID``, which older pages and bookmarks carry, means that
    excerpt's span when it belongs to this transcript."""
    excerpt_id = request.GET.get("excerpt", "")
    if excerpt_id.isdigit():
        span = (
            transcript.excerpts.filter(pk=int(excerpt_id))
            .visible_to(transcript.membership)
            .values_list("start", "end")
            .first()
        )
        if span:
            return [umap.to_u16(span[0]), umap.to_u16(span[1])]
    try:
        start = parse_offset(request.GET.get("start"))
        end = parse_offset(request.GET.get("end"))
        if start < end:
            return [umap.to_u16(start), umap.to_u16(end)]
    except OffsetError:
        pass
    return None


@login_required
@require_GET
def transcript_detail(request: AuthenticatedHttpRequest, transcript_id: int) -> HttpResponse:
    transcript = access.get_transcript_for_user(request.user, transcript_id)
    project = transcript.case.project
    membership = transcript.membership
    umap = Utf16Map(transcript.text)
    rows = transcript_page.transcript_rows(transcript, umap, transcript_page.turn_infos(transcript))
    codebook = _codebook(transcript)
    codes = Code.objects.filter(codebook=codebook).in_tree_order() if codebook else []
    here = transcript_page.code_counts(codebook, transcript, viewer=membership)
    everywhere = transcript_page.code_counts(codebook, viewer=membership)
    for c in codes:
        c.n_here = here.get(c.pk, 0)
        c.n_project = everywhere.get(c.pk, 0)
    excerpts = transcript_page.excerpt_rows(transcript.pk, umap, viewer=membership)
    can_write = membership.can_write
    placeholder = 999999999  # the script swaps in the real id
    payload = {
        "transcript": transcript.pk,
        "project": project.pk,
        "me": request.user.pk,
        "canWrite": can_write,
        "isOwner": access.is_owner(membership),
        "blind": access.is_blinded(membership, transcript),
        "codes": transcript_page.code_rows(codes),
        "coders": transcript_page.coders_of(excerpts, also={request.user.pk}),
        "excerpts": excerpts,
        **transcript_page.boundaries(transcript, umap),
        "undo": transcript_page.undo_label(
            services.undoable_event(transcript=transcript, actor=request.user)
        )
        if can_write
        else "",
        "urls": {
            "code": reverse("coding:workspace-code", args=[transcript.pk]),
            "inVivo": reverse("coding:workspace-in-vivo", args=[transcript.pk]),
            "inVivoName": reverse("coding:workspace-in-vivo-name", args=[transcript.pk]),
            "undo": reverse("coding:workspace-undo", args=[transcript.pk]),
            "codings": reverse("coding:workspace-codings", args=[transcript.pk]),
            "excerpt": reverse("coding:workspace-excerpt", args=[placeholder]),
            "resize": reverse("coding:workspace-resize", args=[placeholder]),
            "memo": reverse("coding:workspace-memo", args=[placeholder]),
            "uncode": reverse("coding:workspace-uncode", args=[placeholder]),
        },
        "placeholder": str(placeholder),
        "focus": _focus(request, transcript, umap),
    }
    return render(
        request,
        "coding/workspace/transcript.html",
        {
            "transcript": transcript,
            "project": project,
            "case": transcript.case,
            "document": transcript_page.render_document(rows),
            "codes": codes,
            "can_write": can_write,
            "informants": transcript.informants.all(),
            "memos": transcript.memos.select_related("author", "memo_type"),
            "blinded": payload["blind"],
            "transcript_blind": transcript.is_blind,
            "may_set_blind": access.may_set_blind_coding(membership),
            "blind_choices": BlindMode.choices,
            "n_codings": sum(len(e[3]) for e in excerpts),
            "n_excerpts": len(excerpts),
            "payload": payload,
            "strings": _strings(),
        },
    )


@login_required
@require_GET
def transcript_codings(request: AuthenticatedHttpRequest, transcript_id: int) -> JsonResponse:
    """All excerpt rows of a transcript (the page's script resynchronises with this)."""
    transcript = access.get_transcript_for_user(request.user, transcript_id)
    umap = Utf16Map(transcript.text)
    excerpts = transcript_page.excerpt_rows(transcript.pk, umap, viewer=transcript.membership)
    undo = (
        services.undoable_event(transcript=transcript, actor=request.user)
        if transcript.membership.can_write
        else None
    )
    return JsonResponse(
        {
            "excerpts": excerpts,
            "coders": transcript_page.coders_of(excerpts),
            # Another script (the suggestions margin) coded: the undo button follows.
            "undo": transcript_page.undo_label(undo),
        }
    )


@login_required
@require_POST
def code_apply(request: AuthenticatedHttpRequest, transcript_id: int) -> JsonResponse:
    """Apply one or more codes (``code`` repeated) to [start, end) in UTF-16 offsets."""
    transcript = access.get_transcript_for_user(request.user, transcript_id, access.WRITE)
    umap = Utf16Map(transcript.text)
    try:
        start, end = span_from_u16(umap, request.POST.get("start"), request.POST.get("end"))
    except OffsetError:
        return _bad_offsets()
    codebook = _codebook(transcript)
    if codebook is None:
        raise Http404
    codes = access.codes_of_codebook(codebook.pk, request.POST.getlist("code"))
    if not codes:
        return _error(_("Choose at least one code."))
    try:
        excerpt, new = services.excerpt_code(
            transcript=transcript,
            start=start,
            end=end,
            codes=codes,
            coder=request.user,
            paragraph_starts=transcript.paragraph_starts(),
        )
    except ValidationError as exc:
        return _validation_error(exc)
    return _delta(
        request,
        transcript,
        umap,
        {excerpt.pk},
        {c.pk for c in codes},
        excerpt=excerpt.pk,
        created=len(new),
    )


@login_required
@require_POST
def code_in_vivo(request: AuthenticatedHttpRequest, transcript_id: int) -> JsonResponse:
    """Code [start, end) with a new code named from the selected words."""
    transcript = access.get_transcript_for_user(request.user, transcript_id, access.WRITE)
    umap = Utf16Map(transcript.text)
    try:
        start, end = span_from_u16(umap, request.POST.get("start"), request.POST.get("end"))
    except OffsetError:
        return _bad_offsets()
    if _codebook(transcript) is None:
        raise Http404
    try:
        excerpt, new, code, created = services.excerpt_code_in_vivo(
            transcript=transcript, start=start, end=end, coder=request.user
        )
    except ValidationError as exc:
        return _validation_error(exc)
    code.depth = 0
    return _delta(
        request,
        transcript,
        umap,
        {excerpt.pk},
        {code.pk},
        excerpt=excerpt.pk,
        created=len(new),
        code=transcript_page.code_rows([code])[0],
        codeCreated=created,
    )


@login_required
@require_GET
def in_vivo_name(request: AuthenticatedHttpRequest, transcript_id: int) -> JsonResponse:
    """The name an in-vivo code for [start, end) (UTF-16 offsets) would get: the picker shows the
    server's rule (``services.in_vivo_name``) rather than computing its own. Reads only."""
    transcript = access.get_transcript_for_user(request.user, transcript_id)
    umap = Utf16Map(transcript.text)
    try:
        start, end = span_from_u16(umap, request.GET.get("start"), request.GET.get("end"))
    except OffsetError:
        return _bad_offsets()
    return JsonResponse({"name": services.in_vivo_name(transcript.text[start:end])})


@login_required
@require_POST
def coding_remove(request: AuthenticatedHttpRequest, coding_id: int) -> JsonResponse:
    """Remove one coding: a coder removes their own, the project owner anyone's."""
    coding = access.get_coding_for_user(request.user, coding_id, access.WRITE)
    if not Coding.objects.filter(pk=coding.pk).visible_to(coding.membership).exists():
        raise Http404  # another coder's, in a transcript the requester codes blind
    if not access.may_remove_coding(coding.membership, coding):
        raise PermissionDenied
    excerpt_id = coding.content_object_id
    transcript = coding.content_object.transcript
    code_id = coding.tag_id
    services.coding_remove(coding=coding, actor=request.user)
    return _delta(request, transcript, Utf16Map(transcript.text), {excerpt_id}, {code_id})


@login_required
@require_POST
def excerpt_resize(request: AuthenticatedHttpRequest, excerpt_id: int) -> JsonResponse:
    """Move the requester's codings on an excerpt to new [start, end) UTF-16 boundaries."""
    excerpt = access.get_visible_excerpt_for_user(request.user, excerpt_id, access.WRITE)
    transcript = excerpt.transcript
    umap = Utf16Map(transcript.text)
    try:
        start, end = span_from_u16(umap, request.POST.get("start"), request.POST.get("end"))
    except OffsetError:
        return _bad_offsets()
    code_ids = set(
        excerpt.codings.coder_layer().filter(coder=request.user).values_list("tag_id", flat=True)
    )
    old_pk = excerpt.pk
    try:
        result = services.excerpt_resize(
            excerpt=excerpt,
            start=start,
            end=end,
            actor=request.user,
            paragraph_starts=transcript.paragraph_starts(),
        )
    except ValidationError as exc:
        return _validation_error(exc)
    return _delta(request, transcript, umap, {old_pk, result.pk}, code_ids, excerpt=result.pk)


def _excerpt_detail(request: HttpRequest, excerpt: Excerpt, umap: Utf16Map) -> dict:
    membership = excerpt.membership
    codings = list(
        excerpt.codings.coder_layer()
        .visible_to(membership)
        .select_related("tag", "coder")
        .order_by("tag__order", "tag__name")
    )
    memos = (
        excerpt.memos.visible_to(membership).select_related("author").order_by("created_at", "pk")
    )
    # A link to a passage the member may not see (blind coding) is left out.
    links = (
        MemoLink.objects.filter(
            Q(excerpt__isnull=True) | Q(excerpt__in=Excerpt.objects.visible_to(membership))
        )
        .select_related("code", "case", "excerpt__transcript")
        .defer("excerpt__transcript__text")
    )
    memos = memos.prefetch_related(Prefetch("links", queryset=links.order_by("pk")))
    here = excerpt.get_absolute_url()
    return {
        "id": excerpt.pk,
        "start": umap.to_u16(excerpt.start),
        "end": umap.to_u16(excerpt.end),
        "paragraph": excerpt.paragraph,
        "text": excerpt.text,
        "canResize": access.may_resize_excerpt(membership, codings),
        "codings": [
            {
                "id": c.pk,
                "code": c.tag_id,
                "coder": c.coder_id,
                "coderName": display_name(c.coder),
                "created": c.created_at.isoformat(),
                "canRemove": access.may_remove_coding(membership, c),
            }
            for c in codings
        ],
        "memos": [
            {
                "id": m.pk,
                "author": m.author_id,
                "authorName": display_name(m.author),
                "text": m.text,
                "updated": m.updated_at.isoformat(),
                "canEdit": access.may_edit_memo(membership, m),
                "links": [_link_json(link, m.project_id) for link in m.links.all()],
                "linkUrl": (
                    f"{reverse('coding:memo-edit', args=[m.pk])}?{urlencode({'next': here})}"
                    if access.may_label_memo(membership, m)
                    else None
                ),
            }
            for m in memos
        ],
        # The other side of a passage link: memos elsewhere that say "see also" this passage.
        "linkedFrom": [
            {
                "id": m.pk,
                "authorName": display_name(m.author),
                "text": m.title or Truncator(m.text).chars(160),
                "url": m.target_url(),
            }
            for m in memo_overview.linking_to_passage(excerpt, viewer=membership)
        ],
    }


def _link_json(link: MemoLink, project_id: int) -> dict[str, str]:
    """One "see also" link of a memo, as the inspector lists it: a label and where it opens."""
    if link.code is not None:
        url = reverse("coding:codebook", args=[project_id])
        return {"label": link.code.name, "url": f"{url}#code-{link.code_id}"}
    if link.case is not None:
        return {"label": link.case.name, "url": link.case.get_absolute_url()}
    e = link.excerpt
    assert e is not None  # noqa: S101 - a link has exactly one target (a database constraint)
    label = f"{e.transcript.title}, ¶ {e.paragraph}: {Truncator(e.text).chars(60)}"
    return {"label": label, "url": e.get_absolute_url()}


@login_required
@require_GET
def excerpt_detail(request: AuthenticatedHttpRequest, excerpt_id: int) -> JsonResponse:
    """One excerpt for the inspector: its codings with coders, its memos in full."""
    excerpt = access.get_visible_excerpt_for_user(request.user, excerpt_id)
    umap = Utf16Map(excerpt.transcript.text)
    return JsonResponse(_excerpt_detail(request, excerpt, umap))


@login_required
@require_POST
def excerpt_memo(request: AuthenticatedHttpRequest, excerpt_id: int) -> JsonResponse:
    """Write a memo on an excerpt, edit one's own (``memo`` id), or delete it (empty text)."""
    excerpt = access.get_visible_excerpt_for_user(request.user, excerpt_id, access.WRITE)
    transcript = excerpt.transcript
    memo = None
    if request.POST.get("memo"):
        memo = access.get_memo_for_user(request.user, request.POST["memo"], access.WRITE)
        if memo.excerpt_id != excerpt.pk:
            raise Http404
        if not access.may_edit_memo(excerpt.membership, memo):
            raise PermissionDenied
    text = request.POST.get("text", "")
    try:
        if memo is not None and not text.strip():
            services.memo_delete(memo=memo, actor=request.user)
        else:
            services.memo_save(
                project=transcript.case.project,
                author=request.user,
                text=text,
                memo=memo,
                excerpt=excerpt,
            )
    except ValidationError as exc:
        return _validation_error(exc)
    umap = Utf16Map(transcript.text)
    excerpt = access.get_visible_excerpt_for_user(request.user, excerpt_id)
    return _delta(
        request,
        transcript,
        umap,
        {excerpt.pk},
        set(),
        detail=_excerpt_detail(request, excerpt, umap),
    )


@login_required
@require_POST
def coding_undo(request: AuthenticatedHttpRequest, transcript_id: int) -> JsonResponse:
    """Undo the requester's last coding action in this transcript."""
    transcript = access.get_transcript_for_user(request.user, transcript_id, access.WRITE)
    try:
        result = services.coding_undo(transcript=transcript, actor=request.user)
    except ValidationError as exc:
        return _validation_error(exc)
    umap = Utf16Map(transcript.text)
    if result is None:
        return _delta(request, transcript, umap, set(), set(), message=_("Nothing to undo."))
    d = result.event.details
    code_ids = set(d.get("code_ids", [])) | ({d["code_id"]} if "code_id" in d else set())
    return _delta(
        request,
        transcript,
        umap,
        result.excerpt_ids,
        code_ids - result.deleted_code_ids,
        message=transcript_page.undo_label(result.event, done=True),
        deletedCodes=sorted(result.deleted_code_ids),
    )
