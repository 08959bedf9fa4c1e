"""Blind coding settings and assignments of transcripts to coders (issue 13), audited.

Who may call them is decided by coding.access (owners only); these check what the data must
hold: a coder is a member of the project who may code, a transcript belongs to the project.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coding.models import (
    WRITE_ROLES,
    Assignment,
    AuditAction,
    BlindMode,
    Membership,
    Project,
    Transcript,
)
from coding.people import display_name
from coding.services.audit import audit


@transaction.atomic
def blind_coding_set(*, project: Project, on: bool, actor: User) -> bool:
    """Turn the project's blind coding on or off; False when it already was so (no event)."""
    project = Project.objects.select_for_update().get(pk=project.pk)
    if project.blind_coding == on:
        return False
    project.blind_coding = on
    project.save(update_fields=["blind_coding"])
    audit(
        project_id=project.pk,
        actor=actor,
        action=AuditAction.BLIND_CODING_ON if on else AuditAction.BLIND_CODING_OFF,
        scope="project",
    )
    return True


@transaction.atomic
def transcript_blind_set(*, transcript: Transcript, mode: str, actor: User) -> bool:
    """Set a transcript's own blind coding (``BlindMode``); False when unchanged. The event
    says whether blind coding is on or off for the transcript afterwards."""
    if mode not in BlindMode.values:
        raise ValidationError(_("Choose a blind coding setting."), code="bad_mode")
    transcript = (
        Transcript.objects.select_for_update(of=("self",))
        .select_related("case__project")
        .defer("text")
        .get(pk=transcript.pk)
    )
    if transcript.blind_mode == mode:
        return False
    was = transcript.is_blind
    transcript.blind_mode = mode
    transcript.save(update_fields=["blind_mode"])
    now = transcript.is_blind
    audit(
        project_id=transcript.case.project_id,
        transcript_id=transcript.pk,
        actor=actor,
        action=AuditAction.BLIND_CODING_ON if now else AuditAction.BLIND_CODING_OFF,
        scope="transcript",
        mode=mode,
        title=transcript.title,
        changed=was != now,
    )
    return True


@transaction.atomic
def assignments_add(
    *, project: Project, transcripts: Iterable[Transcript], coders: Iterable[User], actor: User
) -> int:
    """Assign every transcript to every coder (those not yet assigned); the number created."""
    transcripts = list(transcripts)
    coders = list(coders)
    if any(t.case.project_id != project.pk for t in transcripts):
        raise ValidationError(_("A transcript is not in this project."), code="bad_transcript")
    may_code = set(
        Membership.objects.filter(project=project, role__in=WRITE_ROLES).values_list(
            "user_id", flat=True
        )
    )
    if any(c.pk not in may_code for c in coders):
        raise ValidationError(_("Only members who may code can be assigned."), code="bad_coder")
    existing = set(
        Assignment.objects.filter(transcript__in=transcripts, coder__in=coders).values_list(
            "transcript_id", "coder_id"
        )
    )
    new = [
        Assignment(transcript=t, coder=c, assigned_by=actor)
        for t in transcripts
        for c in coders
        if (t.pk, c.pk) not in existing
    ]
    Assignment.objects.bulk_create(new)
    for a in new:
        audit(
            project_id=project.pk,
            transcript_id=a.transcript.pk,
            actor=actor,
            action=AuditAction.ASSIGNMENT_ADD,
            coder=a.coder.pk,
            coder_name=display_name(a.coder),
            title=a.transcript.title,
        )
    return len(new)


@transaction.atomic
def assignment_remove(*, assignment: Assignment, actor: User) -> None:
    transcript = assignment.transcript
    audit(
        project_id=transcript.case.project_id,
        transcript_id=transcript.pk,
        actor=actor,
        action=AuditAction.ASSIGNMENT_REMOVE,
        coder=assignment.coder_id,
        coder_name=display_name(assignment.coder),
        title=transcript.title,
    )
    assignment.delete()


@transaction.atomic
def assignment_done_set(*, assignment: Assignment, done: bool, actor: User) -> None:
    """The coder marks their assignment done (or not done again)."""
    if (assignment.done_at is not None) == done:
        return
    assignment.done_at = timezone.now() if done else None
    assignment.save(update_fields=["done_at"])
    audit(
        project_id=assignment.transcript.case.project_id,
        transcript_id=assignment.transcript_id,
        actor=actor,
        action=AuditAction.ASSIGNMENT_DONE,
        done=done,
        title=assignment.transcript.title,
    )
