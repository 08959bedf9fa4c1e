"""Transcripts and what the import derives from their text: speaker turns and sentences.

Offsets everywhere are Python ``str`` indices (Unicode code points) into ``Transcript.text``, which
is stored normalised: NFC, LF line ends, no BOM, no control characters but tab and newline.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Count, F, Q
from django.db.models.functions import Length
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from taggit.managers import TaggableManager

from coding import offsets
from coding.models.project import Case, Informant, Membership, Project, Role

if TYPE_CHECKING:
    from coding.analysis.progress import TranscriptProgress


class Mode(models.TextChoices):
    VIDEO = "video", _("Video")
    IN_PERSON = "in_person", _("In person")
    FIELDWORK = "fieldwork", _("Field work")
    PHONE = "phone", _("Telephone")


def passage_url(transcript_id: int, start: int, end: int) -> str:
    """The one link to a passage, from every page and export: the transcript view reads
    ``?start=&end=`` (code points) and opens the passage scrolled into view, marked and, when an
    excerpt has exactly that span, in the inspector. ``#pos-`` lets the read-only pages that
    number their turns by offset (the suggestion review) jump there too."""
    url = reverse("coding:transcript-detail", args=[transcript_id])
    return f"{url}?start={start}&end={end}#pos-{start}"


class BlindMode(models.TextChoices):
    """A transcript's own blind-coding setting (the rule: ``blind_transcripts``)."""

    INHERIT = "inherit", _("As the project")
    ON = "on", _("On")
    OFF = "off", _("Off")


def blind_transcripts(viewer: Membership | None) -> TranscriptQuerySet | None:
    """The one rule of blind coding: the transcripts of the viewer's project in which
    ``viewer`` sees only their own codings (and of the passages' memos and key quotes only
    their own), or None when the viewer sees everything.

    Researchers are blinded in blind transcripts (``TranscriptQuerySet.blind``); supervisors
    and owners see every coding. ``viewer`` None (a command, a job of nobody in particular)
    sees everything. Every read applies it through the ``visible_to`` queryset methods of
    Coding, Excerpt, Memo, KeyQuote and AuditEvent."""
    if viewer is None or viewer.role != Role.RESEARCHER:
        return None
    blind = Transcript.objects.blind().filter(case__project_id=viewer.project_id)
    # Nothing blind (the usual case): the reads keep their plain queries.
    return blind if blind.exists() else None


class TranscriptQuerySet(models.QuerySet["Transcript"]):
    def blind(self) -> TranscriptQuerySet:
        """The transcripts coded blind: turned on for themselves, or inheriting the project's
        blind coding."""
        return self.filter(
            Q(blind_mode=BlindMode.ON)
            | Q(blind_mode=BlindMode.INHERIT, case__project__blind_coding=True)
        )

    def with_text_length(self) -> TranscriptQuerySet:
        """Annotate ``chars``, the length of the text, computed by the database."""
        return self.annotate(chars=Length("text"))

    def with_coding_progress(self, viewer: Membership | None = None) -> TranscriptQuerySet:
        """Annotate excerpt and coding counts (coverage needs offsets; see coded_chars), of
        what ``viewer`` may see (``blind_transcripts``; None: everything)."""
        blind = blind_transcripts(viewer)
        if blind is None or viewer is None:
            return self.annotate(
                n_excerpts=Count("excerpts", distinct=True),
                n_codings=Count("excerpts__codings", distinct=True),
            )
        seen = Q(excerpts__codings__coder_id=viewer.user_id) | ~Q(pk__in=blind.values("pk"))
        return self.annotate(
            n_excerpts=Count("excerpts", filter=seen, distinct=True),
            n_codings=Count("excerpts__codings", filter=seen, distinct=True),
        )


class Transcript(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="transcripts")
    title = models.CharField(_("title"), max_length=300)
    informants = models.ManyToManyField(Informant, blank=True, related_name="transcripts")
    interview_date = models.DateField(_("interview date"), null=True, blank=True)
    mode = models.CharField(_("mode"), max_length=20, choices=Mode.choices, blank=True)
    interviewers = models.CharField(_("interviewer(s)"), max_length=300, blank=True)
    language = models.CharField(_("language"), max_length=10, default="nb")
    original_file = models.FileField(upload_to="originals/%Y/%m/", blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    text = models.TextField()
    word_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    tags = TaggableManager(blank=True, verbose_name=_("tags"))
    blind_mode = models.CharField(
        _("blind coding"), max_length=10, choices=BlindMode.choices, default=BlindMode.INHERIT
    )

    objects = TranscriptQuerySet.as_manager()

    # Set by coding.access on the object it resolves: the acting user's membership in its project.
    membership: Membership
    # Not stored: set by the project home on the transcripts it lists (views.projects).
    progress: TranscriptProgress
    # Not stored: set by the project home, whether the transcript is coded blind.
    blind: bool

    class Meta:
        ordering = ["case", "interview_date", "title"]
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="transcript_text_not_empty"),
        ]
        verbose_name = _("transcript")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("coding:transcript-detail", args=[self.pk])

    @property
    def is_blind(self) -> bool:
        """Whether the transcript is coded blind (its own setting, else the project's)."""
        if self.blind_mode == BlindMode.INHERIT:
            return self.case.project.blind_coding
        return self.blind_mode == BlindMode.ON

    def passage_url(self, start: int, end: int) -> str:
        return passage_url(self.pk, start, end)

    def paragraph_starts(self) -> list[int]:
        """Start offsets of the paragraphs (non-empty lines), in order (``offsets``' rule)."""
        return offsets.paragraph_starts(self.text)

    def paragraph_of(self, offset: int, starts: list[int] | None = None) -> int:
        """1-based paragraph number that contains ``offset``."""
        starts = starts if starts is not None else self.paragraph_starts()
        return max(1, bisect.bisect_right(starts, offset))


def interview_text_q(turn: str = "", project: str = "transcript__case__project__") -> Q:
    """The rule of ``TurnQuerySet.interview_text_of`` as a condition on the turn at path
    ``turn`` (``""``: the Turn itself) of a transcript whose project is at path ``project``
    (each relative to the queried model), for a query that joins turns (the share of text)."""
    return Q(**{f"{turn}is_header": False}) & (
        Q(**{f"{turn}is_interviewer": False})
        | Q(**{f"{project}interviewer_turns_are_interview_text": True})
    )


class TurnQuerySet(models.QuerySet["Turn"]):
    def interview_text(self, *, interviewer: bool = False) -> TurnQuerySet:
        """Turns whose text is interview text: every turn but a transcript's heading or
        metadata block (``is_header``: marked in the import preview, or found there) and the
        interviewer's turns (with ``interviewer``, as a project may choose, those too).
        Unlabelled text outside the header is what the transcript's informants said (the rule
        of ``analysis.selection``), so it is interview text. Use ``interview_text_of``."""
        qs = self.filter(is_header=False)
        return qs if interviewer else qs.filter(is_interviewer=False)

    def interview_text_of(self, project: Project | None = None) -> TurnQuerySet:
        """The one project-aware rule of what is interview text, for suggestions, search and
        the matrices' share of text: ``interview_text`` with the interviewer's turns where the
        project counts them (``Project.interviewer_turns_are_interview_text``). With
        ``project``, that project's turns only; without, each turn by its own project's
        setting (a set of transcripts of several projects)."""
        if project is not None:
            return self.filter(transcript__case__project=project).interview_text(
                interviewer=project.interviewer_turns_are_interview_text
            )
        return self.filter(interview_text_q())


class Turn(models.Model):
    """A speaker turn: [start, end) covers the label; the spoken text begins at content_start."""

    transcript = models.ForeignKey(Transcript, on_delete=models.CASCADE, related_name="turns")
    index = models.PositiveIntegerField()
    start = models.PositiveIntegerField()
    content_start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    label = models.CharField(max_length=100, blank=True)
    is_interviewer = models.BooleanField(default=False)
    # The transcript's heading or metadata block (title, date, place, who took part): never
    # interview text. The import lays it as the first turn, without a speaker.
    is_header = models.BooleanField(default=False)
    informant = models.ForeignKey(
        Informant, null=True, blank=True, on_delete=models.SET_NULL, related_name="turns"
    )

    objects = TurnQuerySet.as_manager()

    # Not stored: the turn's words, set by the suggestion review page (views.suggestions).
    body: str

    class Meta:
        ordering = ["transcript", "index"]
        constraints = [
            models.UniqueConstraint(fields=["transcript", "index"], name="turn_index_unique"),
            models.CheckConstraint(condition=Q(start__lt=F("end")), name="turn_start_lt_end"),
            models.CheckConstraint(
                condition=Q(content_start__gte=F("start")) & Q(content_start__lte=F("end")),
                name="turn_content_inside",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label or '-'} [{self.start}:{self.end}]"


class Sentence(models.Model):
    transcript = models.ForeignKey(Transcript, on_delete=models.CASCADE, related_name="sentences")
    turn = models.ForeignKey(Turn, on_delete=models.CASCADE, related_name="sentences")
    index = models.PositiveIntegerField()
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    # Space-separated lemmas of the sentence's tokens (punctuation left out), what the
    # suggestions learn from (coding.nlp).
    lemmas = models.TextField(blank=True, default="")
    # The word index (coding.language.lemma_index writes it, in the same row): the index words'
    # lemmas and lower-cased forms, space-separated, their offsets relative to ``start`` as
    # "start length" pairs, and the transcript-wide position of the first one (NEAR counts
    # words across the sentences of a turn). The database's full-text engine indexes the two
    # strings itself (PostgreSQL: the generated tsvector column ``index_vector`` with a GIN
    # index; SQLite: the FTS5 table ``coding_sentence_fts`` kept by triggers; migration 0014).
    first_word = models.PositiveIntegerField(default=0)
    index_lemmas = models.TextField(blank=True, default="")
    index_forms = models.TextField(blank=True, default="")
    index_offsets = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["transcript", "index"]
        constraints = [
            models.UniqueConstraint(fields=["transcript", "index"], name="sentence_index_unique"),
            models.CheckConstraint(condition=Q(start__lt=F("end")), name="sentence_start_lt_end"),
        ]
        indexes = [models.Index(fields=["transcript", "start"])]

    def __str__(self) -> str:
        return f"[{self.start}:{self.end}]"
