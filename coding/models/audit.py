"""The audit trail: who did what, when."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coding.models.project import Membership, Project
from coding.models.transcript import Transcript, blind_transcripts


class AuditAction(models.TextChoices):
    CODING_ADD = "coding_add", _("Code applied")
    CODING_REMOVE = "coding_remove", _("Code removed")
    EXCERPT_RESIZE = "excerpt_resize", _("Passage boundaries changed")
    MEMO_SAVE = "memo_save", _("Memo written")
    MEMO_DELETE = "memo_delete", _("Memo deleted")
    CODE_CREATE = "code_create", _("Code created")
    CODE_UPDATE = "code_update", _("Code changed")
    CODE_MERGE = "code_merge", _("Codes merged")
    CODE_DELETE = "code_delete", _("Code deleted")
    TRANSCRIPT_IMPORT = "transcript_import", _("Transcript imported")
    MEMBER_CHANGE = "member_change", _("Membership changed")
    KEY_QUOTE_ADD = "key_quote_add", _("Key quote marked")
    KEY_QUOTE_REMOVE = "key_quote_remove", _("Key quote unmarked")
    CASE_SAVE = "case_save", _("Case saved")
    INFORMANT_SAVE = "informant_save", _("Informant saved")
    ATTRIBUTE_CREATE = "attribute_create", _("Attribute added")
    ATTRIBUTE_DELETE = "attribute_delete", _("Attribute deleted")
    FRAMEWORK_SAVE = "framework_save", _("Framework summary saved")
    CONSENSUS_DECIDE = "consensus_decide", _("Consensus decided")
    CONSENSUS_START = "consensus_start", _("Consensus started from a coder")
    CONSENSUS_UNDO = "consensus_undo", _("Consensus decision undone")
    BLIND_CODING_ON = "blind_coding_on", _("Blind coding turned on")
    BLIND_CODING_OFF = "blind_coding_off", _("Blind coding turned off")
    ASSIGNMENT_ADD = "assignment_add", _("Transcript assigned")
    ASSIGNMENT_REMOVE = "assignment_remove", _("Assignment removed")
    ASSIGNMENT_DONE = "assignment_done", _("Assignment marked done")
    MEMO_LINK_ADD = "memo_link_add", _("Memo link added")
    MEMO_LINK_REMOVE = "memo_link_remove", _("Memo link removed")


# What another member's events in a blind transcript still show a blinded researcher: the
# settings and assignments, never what they coded, wrote or marked.
BLIND_SHOWN = (
    AuditAction.BLIND_CODING_ON,
    AuditAction.BLIND_CODING_OFF,
    AuditAction.ASSIGNMENT_ADD,
    AuditAction.ASSIGNMENT_REMOVE,
    AuditAction.ASSIGNMENT_DONE,
)


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def visible_to(self, viewer: Membership | None) -> AuditEventQuerySet:
        """The events ``viewer`` may read: others' coding in the transcripts ``viewer`` codes
        blind (``blind_transcripts``) is left out."""
        blind = blind_transcripts(viewer)
        if blind is None or viewer is None:
            return self
        return self.exclude(
            Q(transcript_id__in=blind.values("pk"))
            & ~Q(actor_id=viewer.user_id)
            & ~Q(action__in=BLIND_SHOWN)
        )


class AuditEvent(models.Model):
    """Who changed what in the coding, and when. Written by coding.services, never edited."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="audit_events")
    transcript = models.ForeignKey(
        Transcript, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=30, choices=AuditAction.choices)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit event")

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id} at {self.created_at:%Y-%m-%d %H:%M}"
