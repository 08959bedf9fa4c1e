"""Lemma search and coding suggestions (coding.language)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coding.models.codebook import Code
from coding.models.coding import Coding
from coding.models.project import Membership, Project
from coding.models.transcript import Sentence, Transcript

# --- lemma search and coding suggestions (coding.language) -------------------------------------


class Token(models.Model):
    """The word index before issue 16 (format ``IndexFormat.TOKENS``): one row per word.

    No longer written: the index now lives on ``Sentence`` and in the database's full-text
    engine. Read only by ``coding.language.legacy_index`` for transcripts the REINDEX job has
    not migrated yet, and emptied by it; the table goes once every installation has migrated.
    ``position`` counts the transcript's words (punctuation left out).
    """

    transcript = models.ForeignKey(
        Transcript, on_delete=models.CASCADE, related_name="tokens", db_index=False
    )
    sentence = models.ForeignKey(Sentence, on_delete=models.CASCADE, related_name="tokens")
    position = models.PositiveIntegerField()
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    form = models.CharField(max_length=100)
    lemma = models.CharField(max_length=100)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["transcript", "position"], name="token_position_unique"
            ),
            models.CheckConstraint(condition=Q(start__lt=F("end")), name="token_start_lt_end"),
        ]
        indexes = [
            # The pattern operator class lets PostgreSQL answer prefix searches (LIKE 'bolig%')
            # from the index; other databases ignore opclasses.
            models.Index(
                fields=["lemma", "transcript"],
                name="token_lemma_idx",
                opclasses=["varchar_pattern_ops", "int8_ops"],
            ),
            models.Index(
                fields=["form", "transcript"],
                name="token_form_idx",
                opclasses=["varchar_pattern_ops", "int8_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.form} ({self.lemma}) [{self.start}:{self.end}]"


class IndexFormat(models.IntegerChoices):
    """Where a transcript's word index is stored."""

    TOKENS = 1, "token rows"  # the old Token table (read by language.legacy_index)
    FULLTEXT = 2, "sentence columns and the database's full-text engine"


class LemmaIndex(models.Model):
    """Which pipeline version built a transcript's word index, and in which format; a stale
    version or the old format is rebuilt by the REINDEX job."""

    transcript = models.OneToOneField(
        Transcript, on_delete=models.CASCADE, primary_key=True, related_name="lemma_index"
    )
    version = models.CharField(max_length=100)
    format = models.PositiveSmallIntegerField(
        choices=IndexFormat.choices, default=IndexFormat.FULLTEXT
    )
    built_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.transcript_id}: {self.version}"


class CodeClassifier(models.Model):
    """One trained version of a project's suggestion model, stored on disk under MEDIA_ROOT."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="classifiers")
    version = models.PositiveIntegerField()
    path = models.CharField(max_length=300)
    # Labels the model learned: [{"code": id, "name": ..., "positives": n, "threshold": t}].
    codes = models.JSONField(default=list)
    # Codes left out for too few examples, and held-out figures from training.
    skipped = models.JSONField(default=list, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    n_units = models.PositiveIntegerField(default=0)
    n_codings = models.PositiveIntegerField(default=0)
    pipeline = models.CharField(max_length=100)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["project", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["project", "version"], name="classifier_unique"),
        ]
        verbose_name = _("suggestion model")

    def __str__(self) -> str:
        return f"{self.project_id} v{self.version}"


class SuggestionSource(models.TextChoices):
    KEYWORD = "keyword", _("Keywords")
    MODEL = "model", _("Learned model")
    BOTH = "both", _("Keywords and learned model")


class Suggestion(models.Model):
    """A code proposed for a passage (a speaker turn or part of one); never a coding by itself.

    Written by the suggestion jobs; a researcher accepts (a Coding is made) or rejects it.
    """

    transcript = models.ForeignKey(Transcript, on_delete=models.CASCADE, related_name="suggestions")
    code = models.ForeignKey(Code, on_delete=models.CASCADE, related_name="suggestions")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    source = models.CharField(max_length=20, choices=SuggestionSource.choices)
    score = models.FloatField(null=True, blank=True)
    keywords = models.CharField(max_length=300, blank=True)
    classifier = models.ForeignKey(
        CodeClassifier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    # Set by coding.access on the object it resolves: the acting user's membership in its project.
    membership: Membership

    class Meta:
        ordering = ["transcript", "start", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["transcript", "start", "end", "code"], name="suggestion_unique"
            ),
            models.CheckConstraint(condition=Q(start__lt=F("end")), name="suggestion_start_lt_end"),
        ]
        verbose_name = _("suggestion")

    def __str__(self) -> str:
        return f"{self.code_id} on {self.transcript_id}:{self.start}-{self.end}"


class SuggestionVerdict(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")


class SuggestionDecision(models.Model):
    """One researcher's answer to one suggestion; source and model are copied at decision time
    so the usefulness counts stay right when the suggestion is refreshed later."""

    suggestion = models.ForeignKey(Suggestion, on_delete=models.CASCADE, related_name="decisions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verdict = models.CharField(max_length=20, choices=SuggestionVerdict.choices)
    source = models.CharField(max_length=20, choices=SuggestionSource.choices)
    classifier = models.ForeignKey(
        CodeClassifier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    coding = models.ForeignKey(
        Coding, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["suggestion", "user"], name="suggestion_decision_unique"
            ),
            models.CheckConstraint(
                condition=Q(verdict__in=[v.value for v in SuggestionVerdict]),
                name="suggestion_verdict_valid",
            ),
        ]
        verbose_name = _("suggestion decision")

    def __str__(self) -> str:
        return f"{self.verdict} {self.suggestion_id} by {self.user_id}"
