"""Which codings a filter selects, and who speaks: the one place that decides both.

The matrices, the dashboard, the agreement report, the Word export and the lemma search all
select through here; ``analysis.filters`` only reads and checks what was asked for.

    filter_codings(project, data) -> CodingQuerySet
    cell_codings(project, data, row_key, col_key) -> CodingQuerySet
    cooccurrence_cell_codings(project, data, row_code_id, col_code_id) -> CodingQuerySet

``data`` is a QueryDict or a dict of the form's fields (request.GET of a matrix page works as
is); invalid data raises ValidationError. Every id set travels as a subquery, never as a long
list of ids.

Who speaks in a passage (an excerpt, a search hit's turn):
- the informants of the informant turns it overlaps;
- where it overlaps none and lies in the interviewer's turns only: nobody (a question is not
  what an informant said);
- else (unlabelled text, or a label the import could not map): every informant listed on the
  transcript, since any of them may be speaking. A transcript of two informants without
  speaker labels is what both said.
A filter on informants (level, informant attributes) keeps a passage when one of its speakers
passes. Where one speaker is needed (rows of levels, the informants measure, the drill-down)
it is the first that passes the filters: in turn order, then the listed ones by id; so each
coding still falls in one row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils.translation import gettext_lazy as _

from coding.analysis.filters import BASIS_CONSENSUS, BASIS_MERGED, BASIS_SUM, AnalysisFilterForm
from coding.analysis.specs import TOTAL
from coding.models import (
    AttributeDefinition,
    AttributeKind,
    AttributeTarget,
    AttributeValue,
    Case,
    Coding,
    CodingLayer,
    CodingQuerySet,
    Informant,
    Membership,
    Project,
    Transcript,
    Turn,
)

_QS = TypeVar("_QS", bound=QuerySet[Any])

# --- who speaks -----------------------------------------------------------------------------


def speaker_expression(span_path: str = "", informants: QuerySet[Informant] | None = None) -> Any:
    """The informant who speaks in a passage (the rule above), as an SQL expression; NULL when
    nobody does or, with ``informants`` (an Informant queryset), when none of those does.

    ``span_path`` leads from the queried model to a row with ``transcript_id``, ``start`` and
    ``end``: "" on Excerpt or Turn, "content_object__" on Coding."""
    p = span_path
    overlapping = Turn.objects.filter(
        transcript_id=OuterRef(f"{p}transcript_id"),
        start__lt=OuterRef(f"{p}end"),
        end__gt=OuterRef(f"{p}start"),
    )
    informant_turns = overlapping.filter(informant__isnull=False, is_interviewer=False)
    listed = Transcript.informants.through.objects.filter(
        transcript_id=OuterRef(f"{p}transcript_id")
    )
    speaking, candidates = informant_turns, listed
    if informants is not None:
        speaking = speaking.filter(informant_id__in=informants.values("pk"))
        candidates = candidates.filter(informant_id__in=informants.values("pk"))
    interviewer_only = Exists(overlapping.filter(is_interviewer=True)) & ~Exists(
        overlapping.filter(is_interviewer=False)
    )
    return models.Case(
        When(
            Exists(informant_turns),
            then=Subquery(speaking.order_by("start").values("informant_id")[:1]),
        ),
        When(interviewer_only, then=Value(None)),
        default=Subquery(candidates.order_by("informant_id").values("informant_id")[:1]),
        output_field=models.BigIntegerField(),
    )


def speakers(overlapped: Iterable[tuple[int | None, bool]], listed: Sequence[int]) -> list[int]:
    """The rule above in Python, for passages already in memory (the Word export lists every
    speaker of an excerpt): ``overlapped`` holds (informant id, is the interviewer) of each turn
    the passage overlaps, in text order; ``listed`` the transcript's informants by id. The
    first is the one ``speaker_expression`` gives (tests/test_selection.py holds them equal)."""
    turns = list(overlapped)
    found = list(dict.fromkeys(i for i, interviewer in turns if i and not interviewer))
    if found:
        return found
    if turns and all(interviewer for _i, interviewer in turns):
        return []
    return sorted(listed)


def with_speaker(qs: _QS, span_path: str, informants: QuerySet[Informant] | None = None) -> _QS:
    """``qs`` with ``speaker_id`` annotated; with ``informants``, only the passages one of
    them speaks in."""
    qs = qs.annotate(speaker_id=speaker_expression(span_path, informants))
    return qs if informants is None else qs.filter(speaker_id__isnull=False)


def turns_spoken_by(turn_ids: set[int], informants: QuerySet[Informant]) -> set[int]:
    """Of ``turn_ids``, the turns one of ``informants`` speaks in (a search hit lies in one
    turn, so this is the rule applied to the hit)."""
    turns = with_speaker(Turn.objects.filter(pk__in=turn_ids), "", informants)
    return set(turns.values_list("pk", flat=True))


def informants_of_levels(levels: list[str]) -> QuerySet[Informant]:
    return Informant.objects.filter(level__in=levels)


# --- the filters as queries -----------------------------------------------------------------


def attribute_values(
    form: AnalysisFilterForm, definition: AttributeDefinition, names: list[str]
) -> QuerySet[AttributeValue] | None:
    """The AttributeValue rows the attribute's filter keeps, or None when it is unset."""
    if not form.attribute_in_use(definition, names):
        return None
    d = form.cleaned_data
    values = AttributeValue.objects.filter(definition=definition)
    if definition.kind == AttributeKind.TEXT:
        return values.filter(value_text__in=d[names[0]])
    if definition.kind == AttributeKind.BOOLEAN:
        return values.filter(value_boolean=d[names[0]] == "1")
    column = f"value_{definition.kind}"
    lo, hi = d.get(names[0]), d.get(names[1])
    if lo is not None:
        values = values.filter(**{f"{column}__gte": lo})
    if hi is not None:
        values = values.filter(**{f"{column}__lte": hi})
    return values


def case_q(form: AnalysisFilterForm, prefix: str = "") -> Q:
    """The filters that concern cases, over ``prefix`` + Case."""
    d = form.cleaned_data
    p = prefix
    q = Q()
    if d.get("kinds"):
        q &= Q(**{f"{p}kind__in": d["kinds"]})
    if d.get("cases"):
        q &= Q(**{f"{p}pk__in": [int(c) for c in d["cases"]]})
    for definition, names in form.attribute_fields:
        if definition.target != AttributeTarget.CASE:
            continue
        values = attribute_values(form, definition, names)
        if values is not None:
            q &= Q(**{f"{p}pk__in": values.values("case_id")})
    return q


def transcript_q(form: AnalysisFilterForm, prefix: str = "", *, project: bool = True) -> Q:
    """The filters that concern transcripts and their cases, over ``prefix`` + Transcript
    (``project=False`` leaves out the project, for a set already limited to it)."""
    d = form.cleaned_data
    p = prefix
    q = Q(**{f"{p}case__project": form.project}) if project else Q()
    q &= case_q(form, f"{p}case__")
    if d.get("tags"):
        tagged = Transcript.objects.filter(tags__name__in=d["tags"]).values("pk")
        q &= Q(**{f"{p}pk__in": tagged})
    if d.get("date_from"):
        q &= Q(**{f"{p}interview_date__gte": d["date_from"]})
    if d.get("date_to"):
        q &= Q(**{f"{p}interview_date__lte": d["date_to"]})
    return q


def selected_cases(form: AnalysisFilterForm) -> list[Case]:
    """The cases the case filters keep (kind, cases, case attributes), in display order."""
    kept = set(
        Case.objects.filter(project=form.project).filter(case_q(form)).values_list("pk", flat=True)
    )
    return [c for c in form.case_list if c.pk in kept]


def informant_filter(form: AnalysisFilterForm) -> QuerySet[Informant] | None:
    """The informants the informant filters keep (level, informant attributes), or None when
    no such filter is set."""
    d = form.cleaned_data
    informants = None
    if d.get("levels"):
        informants = informants_of_levels(list(d["levels"]))
    for definition, names in form.attribute_fields:
        if definition.target != AttributeTarget.INFORMANT:
            continue
        values = attribute_values(form, definition, names)
        if values is not None:
            base = informants if informants is not None else Informant.objects.all()
            informants = base.filter(pk__in=values.values("informant_id"))
    return informants


def basis_q(form: AnalysisFilterForm) -> Q:
    """The codings the coder basis counts (over Coding), with the coders filter, which limits
    the coders' own codings and keeps the consensus:
    - consensus: the consensus layer;
    - one coder: that coder's own codings;
    - merged, sum: every coder's own codings (they differ in how they count, not in which);
    - the default: per transcript, its consensus where it has any consensus coding, otherwise
      every coder's own codings (merged).
    """
    d = form.cleaned_data
    own = Q(layer=CodingLayer.CODER)
    if d.get("coders"):
        own &= Q(coder_id__in=[int(u) for u in d["coders"]])
    basis = form.coder_basis
    coder_id = form.basis_coder_id
    if basis == BASIS_CONSENSUS:
        return Q(layer=CodingLayer.CONSENSUS)
    if coder_id is not None:
        return own & Q(coder_id=coder_id)
    if basis in (BASIS_MERGED, BASIS_SUM):
        return own
    # Uncorrelated, so the database reads the (few) consensus codings once, by their index.
    settled = Coding.objects.consensus_layer().values("content_object__transcript_id")
    return Q(layer=CodingLayer.CONSENSUS) | (own & ~Q(content_object__transcript_id__in=settled))


def codings(form: AnalysisFilterForm) -> CodingQuerySet:
    """The codings the filters select (all chosen columns) on the form's coder basis
    (``basis_q``), ready for matrix_counts (with ``merged=form.merged``)."""
    d = form.cleaned_data
    columns = form.columns
    if columns.whole_codebook():
        # Every code counts: the project's transcripts limit the set, and no code list is
        # tested on each coding (the matrices' bare GROUP BY lists none either).
        cases = Case.objects.filter(project=form.project).values("pk")
        qs = Coding.objects.filter(
            transcript_q(form, "content_object__transcript__", project=False),
            content_object__transcript__case_id__in=cases,
        )
    else:
        # The chosen codes all belong to the project's codebook, so they limit the set to the
        # project (and spare the joins of Coding.objects.for_project).
        qs = Coding.objects.of_codes(columns.tag_ids()).filter(
            transcript_q(form, "content_object__transcript__", project=False)
        )
    qs = qs.filter(basis_q(form))
    qs = qs.visible_to(viewer_of(form))
    if d.get("key_quotes"):
        qs = qs.key_quotes(viewer=viewer_of(form))
    informants = informant_filter(form)
    if informants is not None or d.get("measure") == "informants" or form.row_spec.by_speaker:
        qs = with_speaker(qs, "content_object__", informants)
    return qs


def cell(form: AnalysisFilterForm, row_key: str, col_key: str) -> CodingQuerySet:
    """The codings one matrix cell counts (``TOTAL`` for a row's or a column's total)."""
    qs = codings(form)
    if row_key != TOTAL:
        qs = form.row_spec.filter_key(qs, row_key)
    if col_key != TOTAL:
        try:
            col = int(col_key)
        except ValueError as exc:
            raise ValidationError(_("The column of this cell is not valid."), "bad_col") from exc
        if col not in {c.pk for c in form.columns.codes}:
            raise ValidationError(_("The column of this cell is not valid."), "bad_col")
        qs = qs.of_codes(form.columns.members(col))
    return qs


def cooccurrence_cell(form: AnalysisFilterForm, row_key: str, col_key: str) -> CodingQuerySet:
    """The codings one co-occurrence cell counts: the row code's codings on the excerpts
    that co-occur (``mode``) with the column code. Both keys are chosen code ids."""
    chosen = {c.pk for c in form.columns.codes}
    try:
        a, b = int(row_key), int(col_key)
    except ValueError as exc:
        raise ValidationError(_("The cell is not valid."), code="bad_cell") from exc
    if a not in chosen or b not in chosen:
        raise ValidationError(_("The cell is not valid."), code="bad_cell")
    return codings(form).cooccurrence_cell(
        form.cleaned_data["mode"], form.columns.layers(), a, b, merged=form.merged
    )


# --- who is looking (blind coding, issue 13) --------------------------------------------------


def viewer_of(form: AnalysisFilterForm) -> Membership | None:
    """Whose eyes the selection is for: ``form.viewer`` when set (``bound_form(viewer=...)``,
    the export jobs), else the membership coding.access put on the project a view resolved;
    None reads for nobody in particular (every coding). ``CodingQuerySet.visible_to`` applies
    the blind-coding rule (``models.blind_transcripts``)."""
    return form.viewer or getattr(form.project, "membership", None)


# --- the function API -----------------------------------------------------------------------


def bound_form(
    project: Project, data: Mapping[str, Any] | None, *, viewer: Membership | None = None
) -> AnalysisFilterForm:
    """A valid form for ``data``, or ValidationError with the form's errors. ``viewer``: the
    member the selection is for (see ``viewer_of``)."""
    form = AnalysisFilterForm(data, project=project, viewer=viewer)
    if not form.is_valid():
        raise ValidationError(
            [f"{field}: {err}" for field, errs in form.errors.items() for err in errs],
            code="bad_filter",
        )
    return form


def filter_codings(
    project: Project, data: Mapping[str, Any] | None, *, viewer: Membership | None = None
) -> CodingQuerySet:
    """The codings of ``project`` that the filters in ``data`` select (all chosen columns).

    The caller has checked that the user may read ``project`` (coding.access).
    """
    return codings(bound_form(project, data, viewer=viewer))


def cell_codings(
    project: Project,
    data: Mapping[str, Any] | None,
    row_key: str,
    col_key: str,
    *,
    viewer: Membership | None = None,
) -> CodingQuerySet:
    """The codings of one matrix cell: ``row_key`` as in the matrix's cell links (or
    ``TOTAL``), ``col_key`` a column's code id (or ``TOTAL``)."""
    return cell(bound_form(project, data, viewer=viewer), row_key, col_key)


def cooccurrence_cell_codings(
    project: Project,
    data: Mapping[str, Any] | None,
    row_key: str,
    col_key: str,
    *,
    viewer: Membership | None = None,
) -> CodingQuerySet:
    """The codings of one co-occurrence cell (``mode`` in ``data``; keys are code ids)."""
    return cooccurrence_cell(bound_form(project, data, viewer=viewer), row_key, col_key)
