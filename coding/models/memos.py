"""What researchers write about the data: memos, key quotes, framework summaries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coding.models.codebook import Code
from coding.models.coding import Excerpt
from coding.models.project import Case, Membership, Project
from coding.models.transcript import Transcript, blind_transcripts

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class MemoType(models.Model):
    """A kind of memo the project's owners list (theoretical, methodological, reflexive, to-do…),
    shown as a small label on its memos."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memo_types")
    name = models.CharField(_("name"), max_length=60)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="memo_type_unique"),
        ]
        verbose_name = _("memo type")

    def __str__(self) -> str:
        return self.name


def _not_blinded(viewer: Membership | None, author_field: str) -> Q:
    """What another member wrote about a passage of a blind transcript is hidden from a blinded
    viewer (``blind_transcripts``): its memos and key quotes would show what they coded."""
    blind = blind_transcripts(viewer)
    if blind is None or viewer is None:
        return Q()
    return (
        Q(**{author_field: viewer.user_id})
        | Q(excerpt__isnull=True)
        | ~Q(excerpt__transcript_id__in=blind.values("pk"))
    )


class MemoQuerySet(models.QuerySet["Memo"]):
    def visible_to(self, viewer: Membership | None) -> MemoQuerySet:
        """The memos ``viewer`` may read: all but other members' memos on passages of
        transcripts ``viewer`` codes blind."""
        return self.filter(_not_blinded(viewer, "author_id"))


class Memo(models.Model):
    """A memo on an excerpt, transcript, case or code; with none of those it is a project memo."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memos")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memos"
    )
    excerpt = models.ForeignKey(
        Excerpt, null=True, blank=True, on_delete=models.CASCADE, related_name="memos"
    )
    transcript = models.ForeignKey(
        Transcript, null=True, blank=True, on_delete=models.CASCADE, related_name="memos"
    )
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.CASCADE, related_name="memos"
    )
    code = models.ForeignKey(
        Code, null=True, blank=True, on_delete=models.CASCADE, related_name="memos"
    )
    memo_type = models.ForeignKey(
        MemoType, null=True, blank=True, on_delete=models.SET_NULL, related_name="memos"
    )
    title = models.CharField(_("title"), max_length=200, blank=True)
    text = models.TextField(_("memo"))
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = MemoQuerySet.as_manager()

    # Set by coding.access on the object it resolves: the acting user's membership in its project.
    membership: Membership

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(excerpt__isnull=True, transcript__isnull=True, case__isnull=True)
                    | Q(excerpt__isnull=True, transcript__isnull=True, code__isnull=True)
                    | Q(excerpt__isnull=True, case__isnull=True, code__isnull=True)
                    | Q(transcript__isnull=True, case__isnull=True, code__isnull=True)
                ),
                name="memo_at_most_one_target",
            ),
            models.CheckConstraint(condition=~Q(text=""), name="memo_not_empty"),
        ]
        verbose_name = _("memo")

    def __str__(self) -> str:
        return self.title or self.text[:40]

    @property
    def kind(self) -> str:
        """What the memo is on: "excerpt", "transcript", "case", "code" or "project"."""
        for kind in ("excerpt", "transcript", "case", "code"):
            if getattr(self, f"{kind}_id"):
                return kind
        return "project"

    def target_url(self) -> str:
        """Where the memo belongs: a passage memo opens the transcript at the passage.
        Select ``excerpt`` along (its transcript id) when listing many."""
        if self.excerpt is not None:
            url = reverse("coding:transcript-detail", args=[self.excerpt.transcript_id])
            return f"{url}?excerpt={self.excerpt_id}#excerpt-{self.excerpt_id}"
        if self.transcript_id:
            return reverse("coding:transcript-detail", args=[self.transcript_id])
        if self.case_id:
            return reverse("coding:case-detail", args=[self.case_id])
        if self.code_id:
            return f"{reverse('coding:codebook', args=[self.project_id])}#code-{self.code_id}"
        return f"{reverse('coding:project-detail', args=[self.project_id])}#memos"

    def write_url(self) -> str:
        """Where its author edits or deletes it: the memo form of its case, code, transcript or
        project (a query string follows); an unsaved memo's is the form for a new one there.
        "" for a passage memo, written in the inspector."""
        if self.excerpt_id:
            return ""
        if self.transcript_id:
            url = reverse("coding:transcript-memo", args=[self.transcript_id])
        elif self.case_id:
            url = reverse("coding:case-memo", args=[self.case_id])
        elif self.code_id:
            url = reverse("coding:code-memo", args=[self.code_id])
        else:
            url = reverse("coding:project-memo-add", args=[self.project_id])
        return f"{url}?memo={self.pk}" if self.pk else url


class KeyQuoteQuerySet(models.QuerySet["KeyQuote"]):
    def visible_to(self, viewer: Membership | None) -> KeyQuoteQuerySet:
        """The key quotes ``viewer`` may see (as ``MemoQuerySet.visible_to``)."""
        return self.filter(_not_blinded(viewer, "user_id"))

    def by(self, user: User) -> KeyQuoteQuerySet:
        return self.filter(user=user)

    def pairs(self) -> set[tuple[int, int]]:
        """{(excerpt id, code id)} of these key quotes."""
        return set(self.values_list("excerpt_id", "code_id"))


class KeyQuote(models.Model):
    """A researcher's mark that a coded passage is worth citing for a code.

    Per researcher: two researchers may each mark the same passage. Written through
    services.key_quote_set (audited); the passage must carry the code when it is marked.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="key_quotes")
    excerpt = models.ForeignKey(Excerpt, on_delete=models.CASCADE, related_name="key_quotes")
    code = models.ForeignKey(Code, on_delete=models.CASCADE, related_name="key_quotes")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="key_quotes"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = KeyQuoteQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["excerpt", "code", "user"], name="key_quote_unique"),
        ]
        verbose_name = _("key quote")

    def __str__(self) -> str:
        return f"{self.excerpt_id} × {self.code_id} by {self.user_id}"


class MemoLink(models.Model):
    """A memo's "see also": a code, a case or a passage it points to beyond its own target,
    listed on both sides (the memo shows it; the code, case or passage lists the memo)."""

    memo = models.ForeignKey(Memo, on_delete=models.CASCADE, related_name="links")
    code = models.ForeignKey(
        Code, null=True, blank=True, on_delete=models.CASCADE, related_name="memo_links"
    )
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.CASCADE, related_name="memo_links"
    )
    excerpt = models.ForeignKey(
        Excerpt, null=True, blank=True, on_delete=models.CASCADE, related_name="memo_links"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(code__isnull=False, case__isnull=True, excerpt__isnull=True)
                    | Q(code__isnull=True, case__isnull=False, excerpt__isnull=True)
                    | Q(code__isnull=True, case__isnull=True, excerpt__isnull=False)
                ),
                name="memo_link_one_target",
            ),
            models.UniqueConstraint(fields=["memo", "code"], name="memo_link_code_unique"),
            models.UniqueConstraint(fields=["memo", "case"], name="memo_link_case_unique"),
            models.UniqueConstraint(fields=["memo", "excerpt"], name="memo_link_excerpt_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.memo_id} → {self.code_id or self.case_id or self.excerpt_id}"


class FrameworkSummary(models.Model):
    """A framework matrix cell: what one case shows for one code, in the researcher's words.

    Written through services.framework_summary_save, which keeps every earlier text as a
    FrameworkSummaryRevision and refuses to overwrite a text that changed since it was read.
    """

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="framework_summaries"
    )
    # A cell has both; a case summary has no code; a cross-case synthesis (a column) no case.
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.CASCADE, related_name="framework_summaries"
    )
    code = models.ForeignKey(
        Code, null=True, blank=True, on_delete=models.CASCADE, related_name="framework_summaries"
    )
    text = models.TextField(_("summary"), blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "code"], name="framework_summary_unique"),
            models.UniqueConstraint(
                fields=["case"], condition=Q(code__isnull=True), name="case_summary_unique"
            ),
            models.UniqueConstraint(
                fields=["code"], condition=Q(case__isnull=True), name="synthesis_unique"
            ),
            models.CheckConstraint(
                condition=Q(case__isnull=False) | Q(code__isnull=False),
                name="framework_summary_has_target",
            ),
        ]
        verbose_name = _("framework summary")
        verbose_name_plural = _("framework summaries")

    def __str__(self) -> str:
        return f"{self.case_id} × {self.code_id}: {self.text[:40]}"


class FrameworkSummaryRevision(models.Model):
    """One saved text of a framework summary, with who saved it and when (newest last)."""

    summary = models.ForeignKey(
        FrameworkSummary, on_delete=models.CASCADE, related_name="revisions"
    )
    version = models.PositiveIntegerField()
    text = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    saved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["summary", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["summary", "version"], name="framework_revision_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.summary_id} v{self.version}"
