"""Undo in the transcript view, and taking back a search batch."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from coding.models import (
    AuditAction,
    AuditEvent,
    Code,
    Coding,
    CodingLayer,
    CodingSource,
    Excerpt,
    Project,
    Transcript,
)
from coding.services.audit import audit
from coding.services.coding import excerpt_resize
from coding.services.excerpts import (
    check_span,
    coding_added,
    coding_removed,
    drop_bare_excerpts,
    lock_excerpts,
)

UNDOABLE_ACTIONS = (AuditAction.CODING_ADD, AuditAction.CODING_REMOVE, AuditAction.EXCERPT_RESIZE)


# How far back undo looks through a coder's actions in one transcript.
UNDO_DEPTH = 200


def undoable_event(*, transcript: Transcript, actor: User) -> AuditEvent | None:
    """The actor's latest coding action in ``transcript`` that is not undone yet, or None.

    Undo is recorded as the inverse action whose details carry ``undo_of``; walking the events
    newest first meets every undo before the events it undid. Imported codings are not undoable.
    """
    events = AuditEvent.objects.filter(
        transcript=transcript, actor=actor, action__in=UNDOABLE_ACTIONS
    ).order_by("-created_at", "-id")
    undone: set[int] = set()
    # In pages: the answer is nearly always the newest event, read on every coding save.
    page = 20
    for offset in range(0, UNDO_DEPTH, page):
        batch = list(events[offset : offset + page])
        for ev in batch:
            if _undoable(ev, undone):
                return ev
        if len(batch) < page:
            break
    return None


def _undoable(ev: AuditEvent, undone: set[int]) -> bool:
    """Whether ``ev`` is what undo undoes next; collects undone event ids on the way."""
    d = ev.details
    if "undo_of" in d:
        undone.update(d["undo_of"])
        return False
    if ev.pk in undone or d.get("source") == CodingSource.IMPORT:
        return False
    needs: dict[str, str] = {
        AuditAction.CODING_ADD: "code_ids",
        AuditAction.CODING_REMOVE: "code_id",
        AuditAction.EXCERPT_RESIZE: "old",
    }
    return needs.get(ev.action, "-") in d


@dataclass
class UndoResult:
    event: AuditEvent
    excerpt_ids: set[int]
    deleted_code_ids: set[int]


@transaction.atomic
def coding_undo(*, transcript: Transcript, actor: User) -> UndoResult | None:
    """Undo the actor's last coding action in ``transcript`` (apply, remove, or resize).

    Returns what was undone and the excerpts it touched (some may be gone), or None when there
    is nothing left to undo.
    """
    ev = undoable_event(transcript=transcript, actor=actor)
    if ev is None:
        return None
    d = ev.details
    project_id = transcript.case.project_id
    touched: set[int] = set()
    deleted_codes: set[int] = set()
    if ev.action == AuditAction.CODING_ADD:
        excerpt = Excerpt.objects.filter(
            transcript=transcript, start=d["start"], end=d["end"]
        ).first()
        removed = []
        if excerpt is not None:
            touched.add(excerpt.pk)
            codings = list(
                Coding.objects.coder_layer()
                .filter(content_object=excerpt, coder=actor, tag_id__in=d["code_ids"])
                .select_related("tag")
            )
            removed = [c.tag.name for c in codings]
            lock_excerpts([excerpt.pk])
            Coding.objects.filter(pk__in=[c.pk for c in codings]).delete()
            drop_bare_excerpts([excerpt.pk])
        if d.get("in_vivo"):
            unused = Code.objects.filter(
                pk__in=d["code_ids"], codebook__project_id=project_id, codings__isnull=True
            ).filter(children__isnull=True, memos__isnull=True)
            deleted_codes = set(unused.values_list("pk", flat=True))
            Code.objects.filter(pk__in=deleted_codes).delete()
        audit(
            project_id=project_id,
            actor=actor,
            action=AuditAction.CODING_REMOVE,
            transcript_id=transcript.pk,
            excerpt=d.get("excerpt"),
            start=d["start"],
            end=d["end"],
            codes=removed,
            deleted_codes=sorted(deleted_codes),
            undo_of=[ev.pk],
        )
    elif ev.action == AuditAction.CODING_REMOVE:
        from django.contrib.auth import get_user_model

        code = Code.objects.filter(pk=d["code_id"], codebook__project_id=project_id).first()
        coder = get_user_model().objects.filter(pk=d.get("coder")).first()
        if code is None or coder is None:
            raise ValidationError(
                _("The code or its coder was deleted since, so this cannot be undone."),
                code="undo_gone",
            )
        check_span(transcript, d["start"], d["end"])
        excerpt, _created = Excerpt.objects.get_or_create(
            transcript=transcript,
            start=d["start"],
            end=d["end"],
            defaults={
                **Excerpt.span_fields(transcript, d["start"], d["end"]),
                "created_by": coder,
            },
        )
        Coding.objects.get_or_create(
            content_object=excerpt,
            tag=code,
            coder=coder,
            layer=CodingLayer.CODER,  # consensus codings are undone as decisions
            defaults={"source": d.get("source") or CodingSource.MANUAL},
        )
        touched.add(excerpt.pk)
        audit(
            project_id=project_id,
            actor=actor,
            action=AuditAction.CODING_ADD,
            transcript_id=transcript.pk,
            **coding_added(
                excerpt_id=excerpt.pk,
                start=d["start"],
                end=d["end"],
                codes=[code],
                undo_of=[ev.pk],
            ),
        )
    else:
        (old_s, old_e), (new_s, new_e) = d["old"], d["new"]
        excerpt = Excerpt.objects.filter(transcript=transcript, start=new_s, end=new_e).first()
        if excerpt is None:
            raise ValidationError(
                _("The passage was changed since, so this cannot be undone."), code="undo_gone"
            )
        touched.add(excerpt.pk)
        result = excerpt_resize(
            excerpt=excerpt, start=old_s, end=old_e, actor=actor, undo_of=[ev.pk]
        )
        touched.add(result.pk)
    return UndoResult(event=ev, excerpt_ids=touched, deleted_code_ids=deleted_codes)


@transaction.atomic
def coding_batch_undo(*, project: Project, batch: uuid.UUID, actor: User) -> int:
    """Remove every coding of ``batch``, and the excerpts left without codings or memos.
    Returns the number of codings removed (0 when the batch was already undone)."""
    codings = list(
        Coding.objects.filter(batch=batch, tag__codebook__project=project).select_related(
            "content_object", "tag"
        )
    )
    # Each removal undoes the batch's own "applied" event for that passage, so the coder's undo
    # in the transcript view skips both (it would otherwise re-add what the batch undo removed).
    applied: dict[int, list[int]] = defaultdict(list)
    for pk, excerpt_id in AuditEvent.objects.filter(
        project=project, action=AuditAction.CODING_ADD, details__batch=str(batch)
    ).values_list("pk", "details__excerpt"):
        applied[excerpt_id].append(pk)
    for c in codings:
        audit(
            project_id=project.pk,
            actor=actor,
            action=AuditAction.CODING_REMOVE,
            transcript_id=c.content_object.transcript_id,
            **coding_removed(
                coding=c,
                excerpt=c.content_object,
                batch=str(batch),
                undo_of=applied.get(c.content_object_id, []),
            ),
        )
    excerpt_ids = {c.content_object_id for c in codings}
    lock_excerpts(excerpt_ids)
    Coding.objects.filter(pk__in=[c.pk for c in codings]).delete()
    drop_bare_excerpts(excerpt_ids)
    return len(codings)
