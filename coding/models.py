"""The data model of a qualitative case study.

Offsets everywhere are Python ``str`` indices (Unicode code points) into ``Transcript.text``, which
is stored normalised: NFC, LF line ends, no BOM, no control characters but tab and newline.
"""

from __future__ import annotations

import bisect
import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections, models
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Length
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from taggit.managers import TaggableManager
from taggit.models import TagBase, TaggedItemBase


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    RESEARCHER = "researcher", _("Researcher")
    SUPERVISOR = "supervisor", _("Supervisor")


WRITE_ROLES = (Role.OWNER, Role.RESEARCHER)


class ProjectQuerySet(models.QuerySet):
    def for_user(self, user) -> ProjectQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user)


class Project(models.Model):
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    memos_required = models.BooleanField(
        _("excerpts need memos"),
        default=False,
        help_text=_("Supervisors see excerpts without memos when this is on."),
    )
    interviewer_turns_are_interview_text = models.BooleanField(
        _("interviewer turns are interview text"),
        default=False,
        help_text=_("Make coding suggestions on the interviewer's turns too."),
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("project")
        verbose_name_plural = _("projects")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("coding:project-detail", args=[self.pk])

    def role_of(self, user) -> str | None:
        m = self.memberships.filter(user=user).only("role").first()
        return m.role if m else None

    @property
    def codebook(self) -> Codebook:
        return self.codebooks.get()


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique"),
            models.CheckConstraint(
                condition=Q(role__in=[r.value for r in Role]), name="membership_role_valid"
            ),
        ]
        verbose_name = _("membership")

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.project}"

    @property
    def can_write(self) -> bool:
        return self.role in WRITE_ROLES


class CaseKind(models.TextChoices):
    CASE_STUDY = "case_study", _("Case municipality")
    IN_DEPTH = "in_depth", _("In-depth interview municipality")


class Case(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="cases")
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=CaseKind.choices)
    description = models.TextField(_("description"), blank=True)
    order = models.PositiveIntegerField(default=0)
    tags = TaggableManager(blank=True, verbose_name=_("tags"))

    class Meta:
        ordering = ["order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="case_name_unique"),
        ]
        verbose_name = _("case")
        verbose_name_plural = _("cases")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("coding:case-detail", args=[self.pk])


class Level(models.TextChoices):
    STRATEGIC = "strategic", _("Strategic")
    OPERATIVE = "operative", _("Operative")
    USER = "user", _("User or resident")


class Informant(models.Model):
    """A person interviewed, always under a pseudonym."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="informants")
    pseudonym = models.CharField(_("pseudonym"), max_length=100)
    role_title = models.CharField(_("role"), max_length=200, blank=True)
    level = models.CharField(_("level"), max_length=20, choices=Level.choices)
    org_unit = models.CharField(_("organisation unit"), max_length=200, blank=True)

    class Meta:
        ordering = ["case", "pseudonym"]
        constraints = [
            models.UniqueConstraint(fields=["case", "pseudonym"], name="informant_unique"),
        ]
        verbose_name = _("informant")

    def __str__(self) -> str:
        return f"{self.pseudonym} ({self.role_title})" if self.role_title else self.pseudonym


class AttributeKind(models.TextChoices):
    TEXT = "text", _("Text")
    INTEGER = "integer", _("Integer")
    DECIMAL = "decimal", _("Decimal")
    BOOLEAN = "boolean", _("Yes/no")
    DATE = "date", _("Date")


class AttributeTarget(models.TextChoices):
    CASE = "case", _("Case")
    INFORMANT = "informant", _("Informant")


class AttributeDefinition(models.Model):
    """A typed attribute of cases or informants, defined per project (data, not columns)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="attributes")
    target = models.CharField(max_length=20, choices=AttributeTarget.choices)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("type"), max_length=20, choices=AttributeKind.choices)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["target", "order", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "target", "name"], name="attribute_name_unique"
            ),
        ]
        verbose_name = _("attribute")

    def __str__(self) -> str:
        return self.name


class AttributeValue(models.Model):
    """One typed value; exactly one of case/informant is set and one value column is used."""

    definition = models.ForeignKey(
        AttributeDefinition, on_delete=models.CASCADE, related_name="values"
    )
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.CASCADE, related_name="attribute_values"
    )
    informant = models.ForeignKey(
        Informant,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="attribute_values",
    )
    value_text = models.CharField(max_length=500, blank=True, default="")
    value_integer = models.BigIntegerField(null=True, blank=True)
    value_decimal = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    value_boolean = models.BooleanField(null=True, blank=True)
    value_date = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(case__isnull=False) & Q(informant__isnull=True))
                | (Q(case__isnull=True) & Q(informant__isnull=False)),
                name="attribute_value_one_owner",
            ),
            models.UniqueConstraint(
                fields=["definition", "case"],
                condition=Q(case__isnull=False),
                name="attribute_value_case_unique",
            ),
            models.UniqueConstraint(
                fields=["definition", "informant"],
                condition=Q(informant__isnull=False),
                name="attribute_value_informant_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.definition.name}: {self.display()}"

    @property
    def value(self):
        return getattr(self, f"value_{self.definition.kind}")

    def display(self) -> str:
        """The value as pages and exports show it, in the active language: 100 581 and 1,1
        in Norwegian, 100,581 and 1.1 in English; dates in the language's short form."""
        v = self.value
        if v is None:
            return ""
        if isinstance(v, bool):
            return str(_("Yes") if v else _("No"))
        if isinstance(v, Decimal):
            return formats.number_format(Decimal(f"{v.normalize():f}"), force_grouping=True)
        if isinstance(v, int):
            return formats.number_format(v, force_grouping=True)
        if isinstance(v, dt.date):
            return formats.date_format(v, "SHORT_DATE_FORMAT")
        return str(v)


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


class TranscriptQuerySet(models.QuerySet):
    def with_text_length(self) -> TranscriptQuerySet:
        """Annotate ``chars``, the length of the text, computed by the database."""
        return self.annotate(chars=Length("text"))

    def with_coding_progress(self) -> TranscriptQuerySet:
        """Annotate excerpt and coding counts (coverage needs offsets; see coded_chars)."""
        return self.annotate(
            n_excerpts=Count("excerpts", distinct=True),
            n_codings=Count("excerpts__codings", distinct=True),
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

    objects = TranscriptQuerySet.as_manager()

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

    def passage_url(self, start: int, end: int) -> str:
        return passage_url(self.pk, start, end)

    def paragraph_starts(self) -> list[int]:
        """Start offsets of the paragraphs (non-empty lines), in order."""
        starts = []
        pos = 0
        for line in self.text.split("\n"):
            if line.strip():
                starts.append(pos)
            pos += len(line) + 1
        return starts

    def paragraph_of(self, offset: int, starts: list[int] | None = None) -> int:
        """1-based paragraph number that contains ``offset``."""
        starts = starts if starts is not None else self.paragraph_starts()
        return max(1, bisect.bisect_right(starts, offset))


class TurnQuerySet(models.QuerySet):
    def interview_text(self, *, interviewer: bool = False) -> TurnQuerySet:
        """Turns whose text is interview text: an informant speaks (and, with ``interviewer``,
        as a project may choose, the interviewer too). Never a transcript's heading or metadata
        block (the unlabelled text before the first speaker turn, which has no speaker) nor a
        speaker the import left unassigned."""
        informant = Q(informant__isnull=False, is_interviewer=False)
        return self.filter(informant | Q(is_interviewer=True) if interviewer else informant)


class Turn(models.Model):
    """A speaker turn: [start, end) covers the label; the spoken text begins at content_start."""

    transcript = models.ForeignKey(Transcript, on_delete=models.CASCADE, related_name="turns")
    index = models.PositiveIntegerField()
    start = models.PositiveIntegerField()
    content_start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    label = models.CharField(max_length=100, blank=True)
    is_interviewer = models.BooleanField(default=False)
    informant = models.ForeignKey(
        Informant, null=True, blank=True, on_delete=models.SET_NULL, related_name="turns"
    )

    objects = TurnQuerySet.as_manager()

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
    # Space-separated lemmas of the sentence, for lemma search (coding.nlp).
    lemmas = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["transcript", "index"]
        constraints = [
            models.UniqueConstraint(fields=["transcript", "index"], name="sentence_index_unique"),
            models.CheckConstraint(condition=Q(start__lt=F("end")), name="sentence_start_lt_end"),
        ]
        indexes = [models.Index(fields=["transcript", "start"])]

    def __str__(self) -> str:
        return f"[{self.start}:{self.end}]"


class Codebook(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="codebooks")
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        constraints = [
            # One codebook per project for now; the constraint keeps Project.codebook honest.
            models.UniqueConstraint(fields=["project"], name="codebook_one_per_project"),
        ]
        verbose_name = _("codebook")

    def __str__(self) -> str:
        return self.name


class CodeQuerySet(models.QuerySet):
    def in_tree_order(self) -> list[Code]:
        """Codes depth-first by parent and order, each with ``depth`` set."""
        codes = list(self.order_by("order", "name"))
        children: dict[int | None, list[Code]] = {}
        for c in codes:
            children.setdefault(c.parent_id, []).append(c)
        out: list[Code] = []

        def walk(parent_id: int | None, depth: int) -> None:
            for c in children.get(parent_id, []):
                c.depth = depth
                out.append(c)
                walk(c.pk, depth + 1)

        walk(None, 0)
        return out


class Code(TagBase):
    """A code of one codebook: a django-taggit tag whose name is unique per codebook only.

    Never apply a code by its name as a string: pass Code objects to coding.services, which checks
    the codebook.
    """

    # Re-declared without unique=True: uniqueness is per codebook (see Meta.constraints).
    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=100, allow_unicode=True)
    codebook = models.ForeignKey(Codebook, on_delete=models.CASCADE, related_name="codes")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    short_name = models.CharField(_("short name"), max_length=30, blank=True)
    definition = models.TextField(_("definition"), blank=True)
    inclusion = models.TextField(_("when to use"), blank=True)
    exclusion = models.TextField(_("when not to use"), blank=True)
    example = models.TextField(_("example"), blank=True)
    keywords = models.TextField(
        _("keywords"), blank=True, help_text=_("One word or phrase per line, for suggestions.")
    )
    color = models.CharField(_("colour"), max_length=7, default="#f4d03f")
    shortcut = models.CharField(_("keyboard shortcut"), max_length=1, blank=True)
    order = models.PositiveIntegerField(default=0)

    objects = CodeQuerySet.as_manager()

    class Meta:
        ordering = ["order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["codebook", "name"], name="code_name_unique"),
            models.UniqueConstraint(fields=["codebook", "slug"], name="code_slug_unique"),
            models.UniqueConstraint(
                fields=["codebook", "shortcut"],
                condition=~Q(shortcut=""),
                name="code_shortcut_unique",
            ),
            models.CheckConstraint(
                condition=Q(color__regex=r"^#[0-9a-fA-F]{6}$"), name="code_color_hex"
            ),
        ]
        verbose_name = _("code")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        # TagBase.save makes slugs unique site-wide; ours need only be unique per codebook.
        if not self.slug:
            base = slugify(self.name, allow_unicode=True)[:90] or "code"
            slug, i = base, 1
            taken = set(
                Code.objects.filter(codebook_id=self.codebook_id, slug__startswith=base)
                .exclude(pk=self.pk)
                .values_list("slug", flat=True)
            )
            while slug in taken:
                i += 1
                slug = f"{base}-{i}"
            self.slug = slug
        models.Model.save(self, *args, **kwargs)

    def descendant_ids(self) -> set[int]:
        """Ids of every code below this one, at any depth (one query over the codebook)."""
        children: dict[int | None, list[int]] = {}
        rows = Code.objects.filter(codebook_id=self.codebook_id).values_list("pk", "parent_id")
        for pk, parent_id in rows:
            children.setdefault(parent_id, []).append(pk)
        out: set[int] = set()
        stack = list(children.get(self.pk, []))
        while stack:
            pk = stack.pop()
            if pk not in out:
                out.add(pk)
                stack.extend(children.get(pk, []))
        return out

    def delete_impact(self) -> dict[str, int]:
        """What deleting this code takes with it: codings, sub-codes and memos (all depths)."""
        below = self.descendant_ids()
        ids = {self.pk, *below}
        return {
            "codings": Coding.objects.filter(tag_id__in=ids).count(),
            "subcodes": len(below),
            "memos": Memo.objects.filter(code_id__in=ids).count(),
        }

    def merge_impact(self, target: Code) -> dict[str, int]:
        """What merging this code into ``target`` would do (see services.code_merge)."""
        mine = Coding.objects.filter(tag=self)
        collapsing = mine.filter(
            models.Exists(
                Coding.objects.filter(
                    tag=target,
                    content_object=models.OuterRef("content_object"),
                    coder=models.OuterRef("coder"),
                )
            )
        ).count()
        return {
            "codings": mine.count(),
            "collapsing": collapsing,
            "memos": self.memos.count(),
            "subcodes": self.children.count(),
        }


class ExcerptQuerySet(models.QuerySet):
    def for_project(self, project: Project) -> ExcerptQuerySet:
        return self.filter(transcript__case__project=project)

    def with_speaker(self) -> ExcerptQuerySet:
        """Annotate ``speaker_id`` (see ``speaker_expression``)."""
        return self.annotate(speaker_id=speaker_expression(""))

    def without_memos(self) -> ExcerptQuerySet:
        return self.filter(~Exists(Memo.objects.filter(excerpt_id=OuterRef("pk"))))


class Excerpt(models.Model):
    """A coded passage: [start, end) in the transcript's text, with a copy of the text.

    Create excerpts through the services (``excerpt_code`` and its bulk siblings), which check
    the offsets against the text with ``check_span`` (the database cannot compare with another
    table's column) and fill what the span decides with ``span_fields``.
    """

    transcript = models.ForeignKey(Transcript, on_delete=models.CASCADE, related_name="excerpts")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    text = models.TextField()
    paragraph = models.PositiveIntegerField(default=1)
    # Words in ``text`` (nlp.count_words), kept by save() so the matrices can sum coded words.
    word_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    codes = TaggableManager(through="Coding", blank=True, manager=None)

    objects = ExcerptQuerySet.as_manager()

    class Meta:
        ordering = ["transcript", "start", "end"]
        constraints = [
            models.CheckConstraint(condition=Q(start__lt=F("end")), name="excerpt_start_lt_end"),
            models.UniqueConstraint(
                fields=["transcript", "start", "end"], name="excerpt_span_unique"
            ),
        ]
        indexes = [models.Index(fields=["transcript", "start"])]
        verbose_name = _("excerpt")

    def __str__(self) -> str:
        return f"{self.transcript_id}:{self.start}-{self.end}"

    def save(self, *args, **kwargs) -> None:
        from coding.nlp import count_words  # spaCy loads with nlp: not at model import

        self.word_count = count_words(self.text)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "text" in update_fields:
            kwargs["update_fields"] = {*update_fields, "word_count"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        """The transcript opened at this passage (scrolled to, marked, in the inspector)."""
        return passage_url(self.transcript_id, self.start, self.end)

    @staticmethod
    def span_fields(
        transcript: Transcript, start: int, end: int, paragraph_starts: list[int] | None = None
    ) -> dict:
        """What an excerpt derives from its span: the text copy, its paragraph and its words.
        Every way of making or moving an excerpt takes these from here (bulk_create skips
        save(), which would otherwise count the words)."""
        from coding.nlp import count_words  # spaCy loads with nlp: not at model import

        text = transcript.text[start:end]
        return {
            "text": text,
            "paragraph": transcript.paragraph_of(start, paragraph_starts),
            "word_count": count_words(text),
        }


class CodingSource(models.TextChoices):
    MANUAL = "manual", _("Coded by hand")
    SUGGESTION = "suggestion", _("Accepted suggestion")
    SEARCH = "search", _("Coded from search")
    IMPORT = "import", _("Imported")


class CodingQuerySet(models.QuerySet):
    def for_project(self, project: Project) -> CodingQuerySet:
        return self.filter(tag__codebook__project=project)

    def key_quotes(self, user=None) -> CodingQuerySet:
        """The codings whose passage someone (or ``user``) marked as a key quote for its code."""
        marks = KeyQuote.objects.filter(
            excerpt_id=OuterRef("content_object_id"), code_id=OuterRef("tag_id")
        )
        if user is not None:
            marks = marks.filter(user=user)
        return self.filter(Exists(marks))

    # --- analysis: set-level reads for the matrices and the dashboard -------------------------
    # Each method is one SQL statement whatever the number of cases, codes or codings;
    # coding.analysis.matrices only reshapes the rows they return into grids.

    def of_codes(self, code_ids: Iterable[int]) -> CodingQuerySet:
        """The codings of these codes.

        Written as ``tag_id + 0 IN (...)`` so no index serves it: with a plain IN list SQLite
        probes the (excerpt, code, coder) index once per listed code for every excerpt, which
        made the matrix several times slower than reading the codings once
        (coding/benchmarks/matrix.py).
        """
        return self.alias(_code=F("tag_id") + 0).filter(_code__in=sorted(code_ids))

    def with_speaker(self) -> CodingQuerySet:
        """Annotate ``speaker_id``: the informant speaking in the coded excerpt.

        See ``speaker_expression`` for the rule (the same one the drill-down shows).
        """
        if "speaker_id" in self.query.annotations:
            return self
        return self.annotate(speaker_id=speaker_expression("content_object__"))

    def matrix_counts(
        self,
        measure: str,
        *,
        row: Any = None,
        layers: Sequence[Mapping[int, int]] | None = None,
    ) -> list[tuple[Any, Any, int]]:
        """``(row key, column key, value)`` for every non-empty cell, in one SQL statement.

        ``measure``: "excerpts" (distinct coded excerpts), "transcripts", "informants"
        (distinct speakers, see ``speaker_expression``), "words" (the words of the distinct
        coded excerpts; overlapping excerpts count their shared words twice) or "coverage"
        (characters of text inside the union of the coded spans: overlaps count once).
        ``row``: an expression over Coding giving the row key; None for no row grouping (the
        key is then None). ``layers``: code id -> column key maps; more than one when a chosen
        column lies under another chosen column, so one coding counts in both (the layers are
        joined by UNION ALL); None for no column grouping (the key is then None).
        """
        if measure not in MATRIX_MEASURES:
            raise ValueError(f"unknown measure {measure!r}")
        if layers is not None and not layers:
            return []  # no columns chosen (a codebook without codes)
        qs = self.with_speaker() if measure == "informants" else self
        parts = []
        names: list[str] = []
        for layer in layers if layers is not None else [None]:
            part = qs.order_by()
            keys: dict[str, Any] = {}
            if row is not None:
                keys["rk"] = row
            if layer is not None:
                part = part.of_codes(layer)
                keys["ck"] = column_expression(layer)
            names = list(keys)
            if measure == "words":
                part = part.values(
                    **keys, ex=F("content_object_id"), w=F("content_object__word_count")
                ).distinct()
            elif measure == "coverage":
                part = part.values(
                    **keys,
                    tr=F("content_object__transcript_id"),
                    st=F("content_object__start"),
                    en=F("content_object__end"),
                ).distinct()
            else:
                # A constant key groups nothing: one row for the whole set.
                part = part.values(**(keys or {"all": models.Value(1)})).annotate(
                    value=MATRIX_MEASURES[measure]()
                )
            parts.append(part)
        combined = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
        if measure == "words":
            return _sum_over(combined, names, "w")
        if measure == "coverage":
            return _covered_chars(combined, names)
        return [(r.get("rk"), r.get("ck"), r["value"]) for r in combined]

    def matrix_cells_and_row_totals(
        self, measure: str, *, row: Any, layers: Sequence[Mapping[int, int]]
    ) -> tuple[list[tuple[Any, Any, int]], list[tuple[Any, None, int]]]:
        """``matrix_counts(measure, row=row, layers=layers)`` and ``matrix_counts(measure,
        row=row)`` of a count measure ("excerpts", "transcripts", "informants"), from one
        statement that joins the codings once: the selected (row, column, counted unit) rows
        are materialised and grouped twice. With one layer the layer's codes are not listed
        again (the set is already limited to the chosen codes: ``AnalysisFilterForm.codings``);
        a code outside it has no column, counts in its row's total, and in no cell."""
        counted = {
            "excerpts": "content_object_id",
            "transcripts": "content_object__transcript_id",
            "informants": "speaker_id",
        }[measure]
        if not layers:
            return [], self.matrix_counts(measure, row=row)
        qs = self.with_speaker() if measure == "informants" else self
        parts = []
        for layer in layers:
            part = qs.order_by()
            if len(layers) > 1:
                part = part.of_codes(layer)
            parts.append(part.values(rk=row, ck=column_expression(layer), u=F(counted)))
        combined = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
        try:
            sql, params = combined.query.sql_with_params()
        except EmptyResultSet:
            return [], []
        if measure == "excerpts":
            statement = (
                f"WITH s AS MATERIALIZED ({sql}) "  # noqa: S608 (SQL from the ORM)
                "SELECT 0, rk, ck, COUNT(DISTINCT u) FROM s WHERE ck IS NOT NULL GROUP BY rk, ck "
                "UNION ALL SELECT 1, rk, NULL, COUNT(DISTINCT u) FROM s GROUP BY rk"
            )
        else:
            # Transcripts and informants are few beside their codings: the distinct (row,
            # column, unit) triples are a small set, and both groupings read only that.
            statement = (
                f"WITH s AS MATERIALIZED (SELECT DISTINCT rk, ck, u FROM ({sql}) d) "  # noqa: S608
                "SELECT 0, rk, ck, COUNT(u) FROM s WHERE ck IS NOT NULL GROUP BY rk, ck "
                "UNION ALL SELECT 1, rk, NULL, COUNT(DISTINCT u) FROM s GROUP BY rk"
            )
        with connections[self.db].cursor() as cursor:
            cursor.execute(statement, params)
            rows = cursor.fetchall()
        cells = [(rk, ck, n) for kind, rk, ck, n in rows if kind == 0]
        totals = [(rk, None, n) for kind, rk, _ck, n in rows if kind == 1]
        return cells, totals

    def cooccurrence_counts(
        self, mode: str, layers: Sequence[Mapping[int, int]]
    ) -> list[tuple[int, int, int]]:
        """``(row code, column code, n)``: n excerpts coded with the row's code co-occur with an
        excerpt coded with the column's (``mode``: "excerpt" the same excerpt, "overlap"
        overlapping spans, "turn" within the same speaker turn). One SQL statement.
        """
        try:
            sql, params = self._cooccurrence_sql(mode, layers)
        except EmptyResultSet:
            return []
        with connections[self.db].cursor() as cursor:
            cursor.execute(
                f"{sql} SELECT a.ck, b.ck, COUNT(DISTINCT a.ex) FROM s a JOIN s b ON "  # noqa: S608
                f"{COOCCURRENCE_JOIN[mode]} GROUP BY a.ck, b.ck",
                params,
            )
            return [(int(a), int(b), n) for a, b, n in cursor.fetchall()]

    def cooccurrence_cell(
        self, mode: str, layers: Sequence[Mapping[int, int]], row_key: int, col_key: int
    ) -> CodingQuerySet:
        """The codings one co-occurrence cell counts: the row code's codings on the excerpts
        that meet the column code (the same rule and SQL as cooccurrence_counts)."""
        try:
            sql, params = self._cooccurrence_sql(mode, layers)
        except EmptyResultSet:
            return self.none()
        excerpts = RawSQL(  # noqa: S611 (our SQL; every value is a parameter)
            f"{sql} SELECT a.ex FROM s a JOIN s b ON "  # noqa: S608
            f"{COOCCURRENCE_JOIN[mode]} WHERE a.ck = %s AND b.ck = %s",
            (*params, row_key, col_key),
        )
        row_codes = sorted(
            code for layer in layers for code, col in layer.items() if col == row_key
        )
        return self.of_codes(row_codes).filter(content_object_id__in=excerpts)

    def _cooccurrence_sql(
        self, mode: str, layers: Sequence[Mapping[int, int]]
    ) -> tuple[str, list[Any]]:
        """``WITH s AS (...)``: one row per (column key, excerpt) of this set, with the span."""
        if mode not in COOCCURRENCE_JOIN:
            raise ValueError(f"unknown co-occurrence mode {mode!r}")
        if not layers:
            raise EmptyResultSet
        parts = []
        for layer in layers:
            fields: dict[str, Any] = {
                "ck": column_expression(layer),
                "ex": F("content_object_id"),
                "tr": F("content_object__transcript_id"),
                "st": F("content_object__start"),
                "en": F("content_object__end"),
            }
            if mode == "turn":
                fields["tu"] = turn_expression("content_object__")
            parts.append(self.order_by().of_codes(layer).values(**fields).distinct())
        combined = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
        sql, params = combined.query.sql_with_params()
        return f"WITH s AS ({sql})", list(params)

    def frequency_rows(self) -> list[dict[str, Any]]:
        """Codings per (code, coder, case): the dashboard's frequencies, in one query."""
        return list(
            self.order_by()
            .values("tag_id", "coder_id", case_id=F("content_object__transcript__case_id"))
            .annotate(n=Count("pk"))
        )

    def span_rows(self) -> list[dict[str, Any]]:
        """Codings per (transcript, coder, span): coverage and codings per 1,000 words."""
        return list(
            self.order_by()
            .values(
                "coder_id",
                transcript_id=F("content_object__transcript_id"),
                start=F("content_object__start"),
                end=F("content_object__end"),
            )
            .annotate(n=Count("pk"))
        )


class Coding(TaggedItemBase):
    """One code applied to one excerpt by one coder (taggit's through model).

    taggit fixes the field names: ``tag`` is the Code, ``content_object`` the Excerpt.
    """

    tag = models.ForeignKey(Code, on_delete=models.CASCADE, related_name="codings")
    content_object = models.ForeignKey(Excerpt, on_delete=models.CASCADE, related_name="codings")
    coder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="codings"
    )
    created_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=20, choices=CodingSource.choices, default="manual")
    batch = models.UUIDField(null=True, blank=True, db_index=True)

    objects = CodingQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["content_object", "tag", "coder"], name="coding_unique"
            ),
        ]
        indexes = [models.Index(fields=["tag", "coder"])]
        verbose_name = _("coding")

    def __str__(self) -> str:
        return f"{self.tag_id} on {self.content_object_id} by {self.coder_id}"

    @property
    def code(self) -> Code:
        return self.tag

    @property
    def excerpt(self) -> Excerpt:
        return self.content_object


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
        if self.excerpt_id:
            url = reverse("coding:transcript-detail", args=[self.excerpt.transcript_id])
            return f"{url}?excerpt={self.excerpt_id}#excerpt-{self.excerpt_id}"
        if self.transcript_id:
            return reverse("coding:transcript-detail", args=[self.transcript_id])
        if self.case_id:
            return reverse("coding:case-detail", args=[self.case_id])
        if self.code_id:
            return f"{reverse('coding:codebook', args=[self.project_id])}#code-{self.code_id}"
        return f"{reverse('coding:project-detail', args=[self.project_id])}#memos"


class KeyQuoteQuerySet(models.QuerySet):
    def by(self, user) -> KeyQuoteQuerySet:
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


class JobKind(models.TextChoices):
    IMPORT = "import", _("Transcript import")
    EXPORT = "export", _("Word export")
    TRAIN = "train", _("Train suggestions")
    REINDEX = "reindex", _("Rebuild lemma index")
    SUGGEST = "suggest", _("Refresh suggestions")
    EXCHANGE_IMPORT = "exchange_import", _("REFI-QDA import")


class JobStatus(models.TextChoices):
    DRAFT = "draft", _("Awaiting confirmation")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class Job(models.Model):
    """A background job. The task marks it running, calls a plain function, records the end."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=20, choices=JobKind.choices)
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    message = models.TextField(blank=True)
    params = models.JSONField(default=dict, blank=True)
    input_file = models.FileField(upload_to="job-input/%Y/%m/", blank=True)
    input_name = models.CharField(max_length=255, blank=True)
    result_file = models.FileField(upload_to="job-results/%Y/%m/", blank=True)
    result_name = models.CharField(max_length=255, blank=True)
    transcript = models.ForeignKey(
        Transcript, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=100), name="job_progress_range"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in JobStatus]), name="job_status_valid"
            ),
        ]
        verbose_name = _("job")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.status}"

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)

    @property
    def is_unconfirmed_import(self) -> bool:
        """An import whose file is being read or waits as a draft for its preview."""
        return self.kind == JobKind.IMPORT and (
            self.status == JobStatus.DRAFT or self.params.get("stage") == "parse"
        )

    def claim_final_commit(self) -> None:
        """Call first inside a job's final transaction: go on only while this attempt owns the
        job (still running, not marked failed as stale, not re-run by another worker).

        The UPDATE locks the row (PostgreSQL) or takes the write lock (SQLite) until the
        transaction ends, so the stale check cannot mark the job failed while it commits, and a
        job already marked failed never commits afterwards: its "nothing was saved" stays true.
        """
        claimed = Job.objects.filter(
            pk=self.pk, status=JobStatus.RUNNING, attempts=self.attempts
        ).update(heartbeat_at=timezone.now())
        if not claimed:
            raise JobSuperseded(str(self.pk))

    def settle(self, status: str, message: str, **fields) -> bool:
        """Record how this attempt ended, unless the job is no longer this attempt's.

        Inside the final transaction (after ``claim_final_commit``) the end commits with the
        work; elsewhere it only touches a job still running under this attempt.
        """
        now = timezone.now()
        values = {"status": status, "message": message, "finished_at": now, **fields}
        if status == JobStatus.DONE:
            values["progress"] = 100
        if status == JobStatus.DRAFT:
            values["finished_at"] = None
        updated = Job.objects.filter(
            pk=self.pk, status=JobStatus.RUNNING, attempts=self.attempts
        ).update(**values)
        if updated:
            for key, value in values.items():
                setattr(self, key, value)
        return bool(updated)


class JobSuperseded(Exception):
    """This attempt of a job lost it (marked failed as stale, or run again elsewhere)."""


def coded_chars(spans: list[tuple[int, int]]) -> int:
    """Characters covered by the union of [start, end) spans (overlaps counted once)."""
    total = 0
    cur_s = cur_e = None
    for s, e in sorted(spans):
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_s
    return total


def job_fail_if_stale(job: Job) -> bool:
    """A running job whose worker stopped reporting is marked failed, never left running."""
    from django.conf import settings as dj_settings

    if job.status != JobStatus.RUNNING or job.heartbeat_at is None:
        return False
    age = (timezone.now() - job.heartbeat_at).total_seconds()
    if age < dj_settings.JOB_STALE_SECONDS:
        return False
    updated = Job.objects.filter(
        pk=job.pk, status=JobStatus.RUNNING, heartbeat_at=job.heartbeat_at
    ).update(
        status=JobStatus.FAILED,
        message=str(
            _(
                "The worker stopped while running this job. Nothing was saved; "
                "please start it again."
            )
        ),
        finished_at=timezone.now(),
    )
    if updated:
        job.refresh_from_db()
    return bool(updated)


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
    TRANSCRIPT_DELETE = "transcript_delete", _("Transcript deleted")
    MEMBER_CHANGE = "member_change", _("Membership changed")
    KEY_QUOTE_ADD = "key_quote_add", _("Key quote marked")
    KEY_QUOTE_REMOVE = "key_quote_remove", _("Key quote unmarked")
    CASE_SAVE = "case_save", _("Case saved")
    INFORMANT_SAVE = "informant_save", _("Informant saved")
    ATTRIBUTE_CREATE = "attribute_create", _("Attribute added")
    ATTRIBUTE_DELETE = "attribute_delete", _("Attribute deleted")
    FRAMEWORK_SAVE = "framework_save", _("Framework summary saved")


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

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit event")

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id} at {self.created_at:%Y-%m-%d %H:%M}"


# --- analysis: expressions shared by the matrices, the drill-down and the filters ------------

MATRIX_MEASURES = {
    "excerpts": lambda: Count("content_object", distinct=True),
    "transcripts": lambda: Count("content_object__transcript", distinct=True),
    "informants": lambda: Count("speaker_id", distinct=True),
    "words": None,  # summed over distinct excerpts around the grouping: see _sum_over
    "coverage": None,  # the union of spans, by a window over the spans: see _covered_chars
}

# How two rows of the co-occurrence set ``s`` (a: the row's code, b: the column's) meet.
COOCCURRENCE_JOIN = {
    "excerpt": "a.ex = b.ex",
    "overlap": "a.tr = b.tr AND a.st < b.en AND b.st < a.en",
    "turn": "a.tu = b.tu",
}


def speaker_expression(excerpt_path: str) -> Coalesce:
    """The informant who speaks in an excerpt: the first informant turn that the excerpt
    overlaps, else (no informant turn: unlabelled text, an interviewer's question) the first
    informant listed on the transcript. ``excerpt_path`` leads from the queried model to the
    Excerpt ("" on Excerpt, "content_object__" on Coding)."""
    p = excerpt_path
    turn = (
        Turn.objects.filter(
            transcript_id=OuterRef(f"{p}transcript_id"),
            start__lt=OuterRef(f"{p}end"),
            end__gt=OuterRef(f"{p}start"),
            informant__isnull=False,
        )
        .order_by("start")
        .values("informant_id")[:1]
    )
    listed = (
        Transcript.informants.through.objects.filter(transcript_id=OuterRef(f"{p}transcript_id"))
        .order_by("informant_id")
        .values("informant_id")[:1]
    )
    return Coalesce(Subquery(turn), Subquery(listed), output_field=models.BigIntegerField())


def turn_expression(excerpt_path: str) -> Subquery:
    """The speaker turn an excerpt starts in (the last turn starting at or before it)."""
    p = excerpt_path
    return Subquery(
        Turn.objects.filter(
            transcript_id=OuterRef(f"{p}transcript_id"), start__lte=OuterRef(f"{p}start")
        )
        .order_by("-start")
        .values("pk")[:1]
    )


def column_expression(layer: Mapping[int, int]) -> Any:
    """Map a coding's code (``tag_id``) to its matrix column key; codes outside map to NULL."""
    if all(code_id == col for code_id, col in layer.items()):
        return F("tag_id")
    by_column: dict[int, list[int]] = defaultdict(list)
    for code_id, col in layer.items():
        by_column[col].append(code_id)
    return models.Case(
        *[
            models.When(tag_id__in=sorted(ids), then=models.Value(col))
            for col, ids in sorted(by_column.items())
        ],
        output_field=models.BigIntegerField(),
    )


def _sum_over(qs: models.QuerySet, names: list[str], column: str) -> list[tuple[Any, Any, int]]:
    """SUM(``column``) of a queryset's rows grouped by ``names`` (aliases we chose), in one
    statement: the ORM cannot aggregate over a DISTINCT subquery, so its SQL is wrapped."""
    try:
        sql, params = qs.query.sql_with_params()
    except EmptyResultSet:  # e.g. an empty list of codes
        return []
    cols = ", ".join(f"sub.{n}" for n in names)
    select = f"{cols}, " if cols else ""
    group = f" GROUP BY {cols}" if cols else ""
    with connections[qs.db].cursor() as cursor:
        cursor.execute(
            f"SELECT {select}SUM(sub.{column}) FROM ({sql}) sub{group}",  # noqa: S608
            params,
        )
        rows = cursor.fetchall()
    out = []
    for r in rows:
        d = dict(zip(names, r[:-1], strict=True))
        out.append((d.get("rk"), d.get("ck"), int(r[-1] or 0)))
    return out


def _covered_chars(qs: models.QuerySet, names: list[str]) -> list[tuple[Any, Any, int]]:
    """Characters inside the union of the spans (``tr``, ``st``, ``en``) of a queryset's rows,
    grouped by ``names``, in one statement. Within each transcript, spans sorted by start each
    add what reaches past the furthest end before them (``pe``), so overlaps count once."""
    try:
        sql, params = qs.query.sql_with_params()
    except EmptyResultSet:
        return []
    cols = ", ".join(f"sub.{n}" for n in names)
    partition = f"{cols}, sub.tr" if cols else "sub.tr"
    outer_cols = ", ".join(f"w.{n}" for n in names)
    select = f"{outer_cols}, " if names else ""
    group = f" GROUP BY {outer_cols}" if names else ""
    statement = (
        f"SELECT {select}SUM(CASE WHEN w.pe IS NULL OR w.st >= w.pe THEN w.en - w.st "  # noqa: S608
        f"WHEN w.en > w.pe THEN w.en - w.pe ELSE 0 END) FROM ("
        f"SELECT sub.*, MAX(sub.en) OVER (PARTITION BY {partition} ORDER BY sub.st, sub.en "
        f"ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS pe FROM ({sql}) sub) w{group}"
    )
    with connections[qs.db].cursor() as cursor:
        cursor.execute(statement, params)
        rows = cursor.fetchall()
    out = []
    for r in rows:
        d = dict(zip(names, r[:-1], strict=True))
        out.append((d.get("rk"), d.get("ck"), int(r[-1] or 0)))
    return out


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


# --- lemma search and coding suggestions (coding.language) -------------------------------------


class Token(models.Model):
    """One word of a transcript in the lemma index: its lower-cased form, lemma and offsets.

    ``position`` counts the transcript's words (punctuation left out), so a phrase is a run of
    consecutive positions and NEAR/n a distance. Written only by coding.language.lemma_index.
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


class LemmaIndex(models.Model):
    """Which pipeline version built a transcript's tokens; a stale version is rebuilt by a job."""

    transcript = models.OneToOneField(
        Transcript, on_delete=models.CASCADE, primary_key=True, related_name="lemma_index"
    )
    version = models.CharField(max_length=100)
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


# --- REFI-QDA exchange (coding.exchange) --------------------------------------------------------


class ExchangeGuid(models.Model):
    """The REFI-QDA GUID an object arrived with, so that exporting it again gives the same GUID.

    Objects made in this project have none: their GUID is derived (coding.exchange.guids). One
    table for every kind of object rather than a column on each model.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="exchange_guids")
    kind = models.CharField(max_length=20)
    object_id = models.BigIntegerField()
    guid = models.UUIDField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "kind", "object_id"], name="exchange_guid_object_unique"
            ),
            models.UniqueConstraint(
                fields=["project", "kind", "guid"], name="exchange_guid_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}: {self.guid}"
