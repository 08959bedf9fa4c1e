"""Assignments: which coder is to code which transcript ("double-code these with Kari and Per")."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coding.models.project import Membership
from coding.models.transcript import Transcript


class AssignmentQuerySet(models.QuerySet["Assignment"]):
    def for_project(self, project_id: int) -> AssignmentQuerySet:
        return self.filter(transcript__case__project_id=project_id)


class Assignment(models.Model):
    """An owner's request that ``coder`` code ``transcript``; the coder marks it done.

    Written through services.assignment_* (audited)."""

    transcript = models.ForeignKey(Transcript, on_delete=models.CASCADE, related_name="assignments")
    coder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # When the coder marked their coding of the transcript done (None: not done).
    done_at = models.DateTimeField(null=True, blank=True)

    objects = AssignmentQuerySet.as_manager()

    # Set by coding.access on the object it resolves: the acting user's membership in its project.
    membership: Membership

    class Meta:
        ordering = ["transcript", "coder"]
        constraints = [
            models.UniqueConstraint(fields=["transcript", "coder"], name="assignment_unique"),
        ]
        verbose_name = _("assignment")

    def __str__(self) -> str:
        return f"{self.transcript_id} → {self.coder_id}"
