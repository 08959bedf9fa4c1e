"""Excerpts (spans of a transcript) and the codings that apply codes to them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections, models
from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from taggit.managers import TaggableManager
from taggit.models import TaggedItemBase

from coding.models.codebook import Code
from coding.models.expressions import (
    COOCCURRENCE_JOIN,
    MATRIX_MEASURES,
    _covered_chars,
    _over_union,
    _sum_over,
    column_expression,
    passage_starts_sql,
    turn_expression,
)
from coding.models.project import Membership, Project
from coding.models.transcript import Transcript, Turn, blind_transcripts, passage_url

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class ExcerptQuerySet(models.QuerySet["Excerpt"]):
    def for_project(self, project: Project) -> ExcerptQuerySet:
        return self.filter(transcript__case__project=project)

    def visible_to(self, viewer: Membership | None) -> ExcerptQuerySet:
        """The passages ``viewer`` may see (``blind_transcripts``): in a blind transcript a
        researcher sees only the passages they coded themselves."""
        blind = blind_transcripts(viewer)
        if blind is None or viewer is None:
            return self
        mine = Coding.objects.filter(content_object_id=OuterRef("pk"), coder_id=viewer.user_id)
        return self.filter(~Q(transcript_id__in=blind.values("pk")) | Exists(mine))

    def without_memos(self) -> ExcerptQuerySet:
        # Through the reverse relation: memos sit above codings in the layers.
        return self.filter(memos__isnull=True)


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

    # Set by coding.access on the object it resolves: the acting user's membership in its project.
    membership: Membership
    # Annotated by analysis.selection.with_speaker: the informant who speaks in the passage.
    speaker_id: int | None

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

    def save(self, *args: Any, **kwargs: Any) -> None:
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


class CodingLayer(models.TextChoices):
    """Whose version a coding is. A coder's own codings form the coder layer; the agreed
    version that researchers settle from several coders' codings (issue 13) is the consensus
    layer: its ``coder`` is the researcher who decided, not an extra account."""

    CODER = "coder", _("Individual coder")
    CONSENSUS = "consensus", _("Consensus")


class CodingQuerySet(models.QuerySet["Coding"]):
    def for_project(self, project: Project) -> CodingQuerySet:
        return self.filter(tag__codebook__project=project)

    def visible_to(self, viewer: Membership | None) -> CodingQuerySet:
        """The codings ``viewer`` may see (``blind_transcripts``): in a blind transcript a
        researcher sees only their own."""
        blind = blind_transcripts(viewer)
        if blind is None or viewer is None:
            return self
        return self.filter(
            Q(coder_id=viewer.user_id) | ~Q(content_object__transcript_id__in=blind.values("pk"))
        )

    def coder_layer(self) -> CodingQuerySet:
        """The coders' own codings (what agreement compares and workload counts)."""
        return self.filter(layer=CodingLayer.CODER)

    def consensus_layer(self) -> CodingQuerySet:
        """The settled version (see CodingLayer)."""
        return self.filter(layer=CodingLayer.CONSENSUS)

    def coder_spans(
        self, transcript: Transcript, code_ids: Iterable[int], coder_ids: Iterable[int]
    ) -> dict[int, list[tuple[int, int]]]:
        """Each coder's own spans of these codes on ``transcript`` (one query): what the
        comparison view and the consensus cut into passages (``coding.spans.passages``)."""
        spans: dict[int, list[tuple[int, int]]] = {pk: [] for pk in coder_ids}
        for coder_id, start, end in (
            self.coder_layer()
            .filter(content_object__transcript=transcript, coder_id__in=spans, tag_id__in=code_ids)
            .values_list("coder_id", "content_object__start", "content_object__end")
        ):
            spans[coder_id].append((start, end))
        return spans

    def key_quotes(
        self, user: User | None = None, *, viewer: Membership | None = None
    ) -> CodingQuerySet:
        """The codings whose passage someone (or ``user``) marked as a key quote for its code;
        with ``viewer``, a mark they may see (``KeyQuoteQuerySet.visible_to``: in a blind
        transcript a researcher's own)."""
        # Through the excerpt's reverse relation: key quotes sit above codings in the layers.
        marks = Excerpt.objects.filter(
            pk=OuterRef("content_object_id"), key_quotes__code_id=OuterRef("tag_id")
        )
        if user is not None:
            marks = Excerpt.objects.filter(
                pk=OuterRef("content_object_id"),
                key_quotes__code_id=OuterRef("tag_id"),
                key_quotes__user=user,
            )
        blind = blind_transcripts(viewer)
        if blind is not None and viewer is not None:
            marks = marks.filter(
                Q(key_quotes__user_id=viewer.user_id) | ~Q(transcript_id__in=blind.values("pk"))
            )
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

    def _counted(self, measure: str) -> CodingQuerySet:
        """The "informants" measure counts ``speaker_id``, which the caller annotates by the
        one rule of who speaks (``coding.analysis.selection.with_speaker``)."""
        if measure == "informants" and "speaker_id" not in self.query.annotations:
            raise ValueError("the informants measure needs speaker_id (analysis.selection)")
        return self

    def matrix_counts(
        self,
        measure: str,
        *,
        row: Any = None,
        layers: Sequence[Mapping[int, int]] | None = None,
        merged: bool = False,
    ) -> list[tuple[Any, Any, int]]:
        """``(row key, column key, value)`` for every non-empty cell, in one SQL statement.

        ``measure``: "excerpts" (distinct coded excerpts), "transcripts", "informants"
        (distinct speakers, see ``coding.analysis.selection``), "words" (the words of the distinct
        coded excerpts; overlapping excerpts count their shared words twice) or "coverage"
        (characters of interview text, ``Turn.objects.interview_text_of``, inside the union of
        the coded spans: overlaps count once; the share of text divides it by the interview
        text's characters);
        ``merged``: overlapping spans of a code (of a column, within a cell) in a transcript
        form one passage, their union: "excerpts" counts those passages and "words" the words
        of their union text once (a word cut by a span's edge counts on each side); without
        columns, a group counts its distinct passages (one coded with two codes once); the
        other measures count distinct units either way (``expressions.union_sql``).
        ``row``: an expression over Coding giving the row key; None for no row grouping (the
        key is then None). ``layers``: code id -> column key maps; more than one when a chosen
        column lies under another chosen column, so one coding counts in both (the layers are
        joined by UNION ALL); None for no column grouping (the key is then None).
        """
        if measure not in MATRIX_MEASURES:
            raise ValueError(f"unknown measure {measure!r}")
        if layers is not None and not layers:
            return []  # no columns chosen (a codebook without codes)
        qs = self._counted(measure)
        parts: list[models.QuerySet[Any, Any]] = []
        names: list[str] = []
        all_layers: Sequence[Mapping[int, int] | None] = [None] if layers is None else layers
        for layer in all_layers:
            part = qs.order_by()
            keys: dict[str, Any] = {}
            if row is not None:
                keys["rk"] = row
            if layer is not None:
                part = part.of_codes(layer)
                keys["ck"] = column_expression(layer)
            names = list(keys)
            rows: models.QuerySet[Any, Any]
            if merged and measure in ("excerpts", "words"):
                rows = part.values(
                    **keys,
                    tg=F("tag_id"),
                    tr=F("content_object__transcript_id"),
                    st=F("content_object__start"),
                    en=F("content_object__end"),
                    ex=F("content_object_id"),
                    w=F("content_object__word_count"),
                )
            elif measure == "words":
                rows = part.values(
                    **keys, ex=F("content_object_id"), w=F("content_object__word_count")
                ).distinct()
            elif measure == "coverage":
                rows = part.values(
                    **keys,
                    tr=F("content_object__transcript_id"),
                    st=F("content_object__start"),
                    en=F("content_object__end"),
                ).distinct()
            else:
                # A constant key groups nothing: one row for the whole set; the other measures
                # have a count (only "words" and "coverage", above, have None).
                count = cast(Callable[[], Count], MATRIX_MEASURES[measure])
                rows = part.values(**(keys or {"all": models.Value(1)})).annotate(value=count())
            parts.append(rows)
        combined = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
        if merged and measure in ("excerpts", "words"):
            # Within a column the unions join its codes; without columns, each code's own.
            return _over_union(combined, names, measure, None if "ck" in names else "tg")
        if measure == "words":
            return _sum_over(combined, names, "w")
        if measure == "coverage":
            # Cut to interview text, the rule search and suggestions read (issue 15).
            within = Turn.objects.interview_text_of().filter(
                transcript__in=self.values("content_object__transcript_id")
            )
            return _covered_chars(combined, names, within=within)
        return [(r.get("rk"), r.get("ck"), r["value"]) for r in combined]

    def matrix_cells_and_row_totals(
        self,
        measure: str,
        *,
        row: Any,
        layers: Sequence[Mapping[int, int]],
        merged: bool = False,
    ) -> tuple[list[tuple[Any, Any, int]], list[tuple[Any, None, int]]]:
        """``matrix_counts(measure, row=row, layers=layers)`` and ``matrix_counts(measure,
        row=row)`` of a count measure ("excerpts", "transcripts", "informants"), from one
        statement that joins the codings once: the selected (row, column, counted unit) rows
        are materialised and grouped twice. With one layer the layer's codes are not listed
        again (the set is already limited to the chosen codes: ``analysis.selection.codings``);
        a code outside it has no column, counts in its row's total, and in no cell.
        ``merged`` (for "excerpts"): passages as in ``matrix_counts``; a row's total counts
        the distinct passages of its codes (told apart by where they start)."""
        counted = {
            "excerpts": "content_object_id",
            "transcripts": "content_object__transcript_id",
            "informants": "speaker_id",
        }[measure]
        if not layers:
            return [], self.matrix_counts(measure, row=row, merged=merged)
        merged = merged and measure == "excerpts"
        qs = self._counted(measure)
        parts = []
        for layer in layers:
            part = qs.order_by()
            if len(layers) > 1:
                part = part.of_codes(layer)
            fields: dict[str, Any] = {"rk": row, "ck": column_expression(layer)}
            if merged:
                fields.update(
                    tg=F("tag_id"),
                    tr=F("content_object__transcript_id"),
                    st=F("content_object__start"),
                    en=F("content_object__end"),
                )
            else:
                fields["u"] = F(counted)
            parts.append(part.values(**fields))
        combined = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
        try:
            sql, params = combined.query.sql_with_params()
        except EmptyResultSet:
            return [], []
        if merged:
            # The passages of each cell, and of each code for the rows' totals (a total counts
            # its distinct passages by where they start: see union_sql); where every column is
            # one code they are the same, and the codings are read once, by one window.
            if len(layers) == 1 and all(k == v for k, v in layers[0].items()):
                starts = passage_starts_sql(f"({sql}) s", ["rk", "ck"])
                statement = f"WITH p AS MATERIALIZED ({starts}) "  # noqa: S608
                of_codes = "p"
            else:
                in_cells = passage_starts_sql("s", ["rk", "ck"], " WHERE ck IS NOT NULL")
                by_code = passage_starts_sql("s", ["rk", "tg"])
                statement = (
                    f"WITH s AS MATERIALIZED ({sql}), "  # noqa: S608 (SQL from the ORM)
                    f"p AS MATERIALIZED ({in_cells}), pc AS MATERIALIZED ({by_code}) "
                )
                of_codes = "pc"
            statement += (
                "SELECT 0, rk, ck, COUNT(*) FROM p GROUP BY rk, ck UNION ALL SELECT 1, rk, NULL, "  # noqa: S608
                f"COUNT(*) FROM (SELECT DISTINCT rk, tr, ust FROM {of_codes}) d GROUP BY rk"
            )
        elif measure == "excerpts" and connections[self.db].vendor == "postgresql":
            # One pass, grouped both ways by the database (sorted once by row, column).
            statement = (
                "SELECT GROUPING(ck), rk, ck, COUNT(DISTINCT u) FROM "  # noqa: S608 (ORM SQL)
                f"({sql}) s GROUP BY GROUPING SETS ((rk, ck), (rk))"
            )
        elif measure == "excerpts":
            # SQLite has no grouping sets: the codings are read once into a table, grouped
            # twice (reading them twice instead costs more where a filter keeps a few).
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
        cells = [(rk, ck, n) for kind, rk, ck, n in rows if kind == 0 and ck is not None]
        totals = [(rk, None, n) for kind, rk, _ck, n in rows if kind == 1]
        return cells, totals

    def cooccurrence_counts(
        self, mode: str, layers: Sequence[Mapping[int, int]], *, merged: bool = False
    ) -> list[tuple[int, int, int]]:
        """``(row code, column code, n)``: n excerpts coded with the row's code co-occur with an
        excerpt coded with the column's (``mode``: "excerpt" the same excerpt, "overlap"
        overlapping spans, "turn" within the same speaker turn). One SQL statement.
        ``merged``: n counts the row code's passages instead (overlapping excerpts of the code
        form one, as in ``passage_rows``), where one of their excerpts meets the column code.
        """
        try:
            sql, params = self._cooccurrence_sql(mode, layers, merged=merged)
        except EmptyResultSet:
            return []
        unit = "a.pid" if merged else "a.ex"
        with connections[self.db].cursor() as cursor:
            cursor.execute(
                f"{sql} SELECT a.ck, b.ck, COUNT(DISTINCT {unit}) FROM s a JOIN s b ON "  # noqa: S608
                f"{COOCCURRENCE_JOIN[mode]} GROUP BY a.ck, b.ck",
                params,
            )
            return [(int(a), int(b), n) for a, b, n in cursor.fetchall()]

    def cooccurrence_cell(
        self,
        mode: str,
        layers: Sequence[Mapping[int, int]],
        row_key: int,
        col_key: int,
        *,
        merged: bool = False,
    ) -> CodingQuerySet:
        """The codings one co-occurrence cell counts: the row code's codings on the excerpts
        that meet the column code (the same rule and SQL as cooccurrence_counts); ``merged``:
        on every excerpt of the row code's passages that meet it."""
        try:
            sql, params = self._cooccurrence_sql(mode, layers, merged=merged)
        except EmptyResultSet:
            return self.none()
        met = (
            f"SELECT a.ex FROM s a JOIN s b ON {COOCCURRENCE_JOIN[mode]} "  # noqa: S608
            "WHERE a.ck = %s AND b.ck = %s"
        )
        if merged:
            met = (
                "SELECT m.ex FROM s m WHERE m.ck = %s AND m.pid IN ("  # noqa: S608
                f"SELECT a.pid FROM s a JOIN s b ON {COOCCURRENCE_JOIN[mode]} "
                "WHERE a.ck = %s AND b.ck = %s)"
            )
            params = [*params, row_key]
        excerpts = RawSQL(  # noqa: S611 (our SQL; every value is a parameter)
            f"{sql} {met}", (*params, row_key, col_key)
        )
        row_codes = sorted(
            code for layer in layers for code, col in layer.items() if col == row_key
        )
        return self.of_codes(row_codes).filter(content_object_id__in=excerpts)

    def _cooccurrence_sql(
        self, mode: str, layers: Sequence[Mapping[int, int]], *, merged: bool = False
    ) -> tuple[str, list[Any]]:
        """``WITH s AS (...)``: one row per (column key, excerpt) of this set, with the span;
        ``merged`` adds ``pid``, the passage (the smallest excerpt id of its run of overlapping
        spans within the column key and transcript)."""
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
        if not merged:
            return f"WITH s AS ({sql})", list(params)
        order = "ORDER BY st, en, ex"
        return (
            f"WITH s0 AS ({sql}), "  # noqa: S608 (SQL from the ORM and our own names)
            f"s1 AS (SELECT s0.*, MAX(en) OVER (PARTITION BY ck, tr {order} "
            "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS pe FROM s0), "
            "s2 AS (SELECT s1.*, SUM(CASE WHEN pe IS NULL OR st >= pe THEN 1 ELSE 0 END) "
            f"OVER (PARTITION BY ck, tr {order} ROWS UNBOUNDED PRECEDING) AS grp FROM s1), "
            "s AS (SELECT s2.*, MIN(ex) OVER (PARTITION BY ck, tr, grp) AS pid FROM s2)",
            list(params),
        )

    def passage_rows(self, *, by_code: bool = False) -> list[tuple[int, int, int, int, int]]:
        """The merged passages of this set, one row per excerpt: ``(excerpt id, transcript id,
        passage start, passage end, code id or 0)``. A passage is a run of overlapping spans
        within a transcript (and, ``by_code``, of one code), and covers their union: the unit
        the matrices count on a merged coder basis (``matrix_counts(merged=True)``). One
        statement; the rows come sorted by transcript and start."""
        key = F("tag_id") if by_code else models.Value(0)
        rows = (
            self.order_by()
            .values(
                k=key,
                tr=F("content_object__transcript_id"),
                st=F("content_object__start"),
                en=F("content_object__end"),
                ex=F("content_object_id"),
            )
            .distinct()
        )
        try:
            sql, params = rows.query.sql_with_params()
        except EmptyResultSet:
            return []
        order = "ORDER BY sub.st, sub.en, sub.ex"
        statement = (
            "SELECT h.ex, h.tr, MIN(h.st) OVER p, MAX(h.en) OVER p, h.k FROM ("  # noqa: S608
            "SELECT g.*, SUM(CASE WHEN g.pe IS NULL OR g.st >= g.pe THEN 1 ELSE 0 END) OVER "
            "(PARTITION BY g.k, g.tr ORDER BY g.st, g.en, g.ex ROWS UNBOUNDED PRECEDING) AS grp "
            f"FROM (SELECT sub.*, MAX(sub.en) OVER (PARTITION BY sub.k, sub.tr {order} "
            f"ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS pe FROM ({sql}) sub) g) h "
            "WINDOW p AS (PARTITION BY h.k, h.tr, h.grp) ORDER BY h.tr, h.st, h.en, h.k"
        )
        with connections[self.db].cursor() as cursor:
            cursor.execute(statement, params)
            return [(ex, tr, st, en, int(k)) for ex, tr, st, en, k in cursor.fetchall()]

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
    layer = models.CharField(max_length=10, choices=CodingLayer.choices, default=CodingLayer.CODER)

    objects = CodingQuerySet.as_manager()

    # Set by coding.access on the object it resolves: the acting user's membership in its project.
    membership: Membership

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["content_object", "tag", "coder", "layer"], name="coding_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["tag", "coder"]),
            # The few consensus codings, read once by the default coder basis ("consensus
            # where a transcript has one": analysis.selection.basis_q).
            models.Index(
                fields=["content_object"],
                condition=Q(layer="consensus"),
                name="coding_consensus_idx",
            ),
        ]
        verbose_name = _("coding")

    def __str__(self) -> str:
        return f"{self.tag_id} on {self.content_object_id} by {self.coder_id}"

    @property
    def code(self) -> Code:
        return self.tag

    @property
    def excerpt(self) -> Excerpt:
        return self.content_object


def coded_chars(spans: list[tuple[int, int]]) -> int:
    """Characters covered by the union of [start, end) spans (overlaps counted once)."""
    total = 0
    cur_s = 0
    cur_e: int | None = None
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
