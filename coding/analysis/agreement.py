"""Intercoder agreement: which codings a scope means, as pattern counts, and the figures.

``build(project, coders=..., data=..., unit=...)`` reads in a fixed number of queries (the
filter form's look-ups, the transcripts, which chosen coders coded each, the codings, and the
sentences or the turns when they are the unit) and computes everything from numpy arrays
(coding.analysis.stats):

- the scope: the codes, coders and transcript filters of ``coding/filters.py`` (``data`` as for
  a matrix: ``codes``, ``subcodes``, ``cases``, ``tags``, dates, attributes ...); of those
  transcripts, the ones *every* chosen coder has coded (any code), so a coder who coded a
  transcript and left a code out said "not this code" there;
- the unit, stated with every figure: each character of the text (NVivo's unit), each sentence,
  each speaker turn (a coder coded a sentence or turn when their coding of the code covers any of
  its characters), or each coded passage of each coder (another coder coded it when one of
  their passages overlaps it by at least ``threshold``, intersection over union, 90 % by
  default: MAXQDA's segment criterion);
- per code, per transcript (all chosen codes) and pooled: the number of units, percent
  agreement, Cohen's kappa (two coders), Fleiss' kappa, Brennan and Prediger's kappa,
  Krippendorff's nominal alpha, and a 95 % bootstrap interval of kappa and alpha that resamples
  transcripts;
- code existence and code frequency per transcript (MAXQDA's first two criteria);
- pooled agreement by the week in which each transcript's coding was finished.

Too little coding to say anything (fewer than ``MIN_CODED`` units coded by any coder) is marked
``too_little``; a chance-corrected figure with nothing to correct for is ``undefined``. Neither
is shown as a number.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.db.models import F
from django.db.models.functions import Length
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from coding.analysis import selection, stats
from coding.analysis.filters import BASIS_SUM
from coding.analysis.selection import bound_form
from coding.models import Code, Coding, Project, Sentence, Transcript, Turn
from coding.people import display_name

UNITS = ("character", "sentence", "turn", "passage")
UNIT_LABELS = {
    "character": _("characters"),
    "sentence": _("sentences"),
    "turn": _("speaker turns"),
    "passage": _("coded passages"),
}
DEFAULT_THRESHOLD = 0.9
# Units that at least one coder must have coded before a figure says anything.
MIN_CODED = {"character": 200, "sentence": 5, "turn": 5, "passage": 5, "transcript": 3}
RESAMPLES = 1000
STATISTICS = ("percent", "cohen_kappa", "fleiss_kappa", "brennan_prediger", "krippendorff_alpha")

DEFINITIONS = [
    (
        _("Scope"),
        _(
            "The transcripts of the filter that every chosen coder has coded (with any code). A "
            "coder who coded a transcript and did not apply a code to a unit said “not this code”."
        ),
    ),
    (
        _("Characters"),
        _("Each character of the transcript text is a unit, coded or not by each coder."),
    ),
    (
        _("Sentences and speaker turns"),
        _("A coder coded a sentence or turn when their coding covers any of its characters."),
    ),
    (
        _("Coded passages"),
        _(
            "Each coder's coded passage (a stretch of their coding of the code) is a unit. Another "
            "coder coded it when one of their passages overlaps it by at least the threshold: the "
            "shared text over the text of the two together (MAXQDA's segment criterion). No "
            "passage is uncoded by all coders, so Cohen's kappa and alpha read low there: read "
            "percent agreement and Brennan–Prediger."
        ),
    ),
    (_("Percent agreement"), _("The share of units on which all chosen coders agree.")),
    (
        _("Cohen's kappa"),
        _("Two coders: agreement corrected for the agreement each coder's own rates would give."),
    ),
    (_("Fleiss' kappa"), _("Any number of coders: chance from the coders' pooled rates.")),
    (
        _("Brennan–Prediger kappa"),
        _("Agreement corrected for a fair coin's: (agreement − ½) / ½. Used by MAXQDA."),
    ),
    (
        _("Krippendorff's alpha"),
        _(
            "Nominal alpha: 1 − observed / expected disagreement, any number of coders. "
            "Above 0.8 is commonly read as reliable, 0.667–0.8 as tentative."
        ),
    ),
    (
        _("Interval"),
        _("95 % bootstrap interval: 1,000 resamples of the transcripts, with replacement."),
    ),
    (
        _("Too little coding"),
        _(
            "Fewer than 200 characters, 5 sentences, turns or passages, or 3 transcripts coded "
            "by any coder: no figure is given."
        ),
    ),
    (
        _("Code existence"),
        _("Each transcript is a unit: did the coder apply the code there at all?"),
    ),
    (
        _("Code frequency"),
        _("Share of the transcripts with the code where all coders coded it equally often."),
    ),
]


@dataclass
class Figure:
    """The statistics of one set of pattern counts (a code, a transcript, a cell or pooled)."""

    unit: str
    units: int
    coded: int  # units at least one coder coded
    values: dict[str, float | None]  # the statistics as computed (None where undefined)
    intervals: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    too_little: bool = False

    def shown(self, name: str) -> float | None:
        """The figure as the page and the exports give it: None when there is too little."""
        return None if self.too_little else self.values.get(name)

    @property
    def alpha(self) -> float | None:
        return self.shown("krippendorff_alpha")

    def status(self, name: str = "krippendorff_alpha") -> str:
        if self.too_little:
            return "too_little"
        return "undefined" if self.values.get(name) is None else "ok"

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "unit": self.unit,
            "units": self.units,
            "coded_units": self.coded,
            "status": self.status(),
        }
        for name in STATISTICS:
            if name in self.values:
                out[name] = self.shown(name)
        for name, ci in self.intervals.items():
            out[f"{name}_ci95"] = None if self.too_little or ci is None else list(ci)
        return out


def _clean(x: Any) -> float | None:
    x = float(x)
    return None if np.isnan(x) else x


def figure(counts: np.ndarray, m: int, unit: str, min_coded: int) -> Figure:
    """A Figure of one pattern-count vector (no interval)."""
    counts = np.asarray(counts, dtype=np.float64)
    values = {
        "percent": _clean(stats.percent_agreement(counts, m)),
        "fleiss_kappa": _clean(stats.fleiss_kappa(counts, m)),
        "brennan_prediger": _clean(stats.brennan_prediger(counts, m)),
        "krippendorff_alpha": _clean(stats.krippendorff_alpha(counts, m)),
    }
    if m == 2:
        values["cohen_kappa"] = _clean(stats.cohen_kappa(counts))
    total = int(round(counts.sum()))
    coded = int(round(counts.sum() - counts[0]))
    return Figure(unit, total, coded, values, too_little=coded < min_coded)


def with_intervals(fig: Figure, resampled: np.ndarray, m: int) -> Figure:
    """``resampled``: pattern counts per bootstrap resample, shape (B, 2**m)."""
    fig.intervals["krippendorff_alpha"] = stats.interval(stats.krippendorff_alpha(resampled, m))
    if m == 2:
        fig.intervals["cohen_kappa"] = stats.interval(stats.cohen_kappa(resampled))
    else:
        fig.intervals["fleiss_kappa"] = stats.interval(stats.fleiss_kappa(resampled, m))
    return fig


# --- the scope and its arrays ---------------------------------------------------------------


@dataclass
class Scope:
    """What the agreement is computed over, read in a fixed number of queries."""

    coders: list[Any]  # users, in the order of their pattern bits
    codes: list[Code]
    members: dict[int, set[int]]  # column code -> codes whose codings count in it
    transcripts: list[dict[str, Any]]  # pk, title, case, length, in display order
    spans: dict[tuple[int, int, int], list[tuple[int, int]]]  # (code, transcript, coder) -> spans
    finished: dict[int, dt.datetime]  # transcript -> last coding by a chosen coder
    described: list[tuple[str, str]]


def load_scope(
    project: Project,
    *,
    coder_ids: Sequence[int],
    data: Mapping[str, Any] | None = None,
    only_shared: bool = True,
) -> Scope:
    """The codings of ``coder_ids`` that ``data`` (the matrix filters) selects.

    Without chosen codes every code of the codebook counts. Sub-codes stay on their own unless
    ``subcodes`` is "rollup" (so pooled figures count each character of each code once).
    """
    data = dict(data.lists()) if isinstance(data, MultiValueDict) else dict(data or {})
    all_codes = not data.get("codes")
    if all_codes:
        data["codes"] = [
            str(pk)
            for pk in Code.objects.filter(codebook__project=project).values_list("pk", flat=True)
        ]
    if not data.get("subcodes"):
        data["subcodes"] = "own"
    data["coders"] = [str(pk) for pk in coder_ids]
    # Agreement compares the coders' own codings, each as it is: the coder layer, unmerged.
    data["basis"] = BASIS_SUM
    form = bound_form(project, data)
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=coder_ids)}
    coders = [users[pk] for pk in coder_ids if pk in users]
    columns = form.columns
    members = {c.pk: columns.members(c.pk) for c in columns.codes}

    chosen = Transcript.objects.filter(selection.transcript_q(form))
    transcripts = list(
        chosen.annotate(length=Length("text"), case_name=F("case__name"))
        .order_by("case__kind", "case__order", "title")
        .values("pk", "title", "case_name", "length")
    )
    coded_by: dict[int, set[int]] = defaultdict(set)
    for t_id, coder_id in (
        Coding.objects.coder_layer()  # the coders' own codings, never the consensus
        .visible_to(selection.viewer_of(form))
        .filter(
            coder_id__in=coder_ids,
            content_object__transcript_id__in=chosen.values("pk"),
        )
        .values_list("content_object__transcript_id", "coder_id")
        .distinct()
    ):
        coded_by[t_id].add(coder_id)
    if only_shared:
        transcripts = [t for t in transcripts if coded_by[t["pk"]] >= set(users)]
    kept = {t["pk"] for t in transcripts}

    by_member: dict[int, list[int]] = defaultdict(list)
    for col, codes in members.items():
        for code_id in codes:
            by_member[code_id].append(col)
    spans: dict[tuple[int, int, int], list[tuple[int, int]]] = defaultdict(list)
    finished: dict[int, dt.datetime] = {}
    # Agreement compares the coders' own codings: the consensus is not a coder.
    rows = (
        selection.codings(form)
        .coder_layer()
        .values_list(
            "tag_id",
            "coder_id",
            "content_object__transcript_id",
            "content_object__start",
            "content_object__end",
            "created_at",
        )
    )
    for tag_id, coder_id, t_id, start, end, created in rows:
        if t_id not in kept:
            continue
        for col in by_member.get(tag_id, ()):
            spans[(col, t_id, coder_id)].append((start, end))
        if t_id not in finished or created > finished[t_id]:
            finished[t_id] = created
    return Scope(
        coders=coders,
        codes=list(columns.codes),
        members=members,
        transcripts=transcripts,
        spans=dict(spans),
        finished=finished,
        described=[
            (label, gettext("all codes") if all_codes and label == gettext("Codes") else value)
            for label, value in form.describe(view=())
            if label != str(form.fields["basis"].label)
        ],
    )


def segment_units(scope: Scope, unit: str) -> dict[int, np.ndarray]:
    """Sentence or turn offsets per transcript (one query)."""
    model = Sentence if unit == "sentence" else Turn
    out: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for t_id, start, end in (
        model.objects.filter(transcript_id__in=[t["pk"] for t in scope.transcripts])
        .order_by("transcript_id", "start")
        .values_list("transcript_id", "start", "end")
    ):
        out[t_id].append((start, end))
    return {t: np.array(v, dtype=np.int64).reshape(-1, 2) for t, v in out.items()}


def pattern_counts(scope: Scope, unit: str, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Counts of shape (codes, transcripts, 2**coders) for ``unit``."""
    m = len(scope.coders)
    out = np.zeros((len(scope.codes), len(scope.transcripts), 2**m))
    segments = segment_units(scope, unit) if unit in ("sentence", "turn") else {}
    empty = np.zeros((0, 2), dtype=np.int64)
    for j, t in enumerate(scope.transcripts):
        for i, code in enumerate(scope.codes):
            by_coder = [
                np.array(scope.spans.get((code.pk, t["pk"], u.pk), empty), dtype=np.int64)
                for u in scope.coders
            ]
            if unit == "character":
                out[i, j] = stats.char_patterns(by_coder, t["length"])
            elif unit == "passage":
                out[i, j] = stats.passage_patterns(by_coder, threshold)
            else:
                out[i, j] = stats.unit_patterns(by_coder, segments.get(t["pk"], empty))
    return out


def existence_counts(scope: Scope) -> tuple[np.ndarray, np.ndarray]:
    """Per code and transcript: the existence pattern (which coders applied the code at all),
    and each coder's number of coded passages (stretches of their coding of the code)."""
    m = len(scope.coders)
    pattern = np.zeros((len(scope.codes), len(scope.transcripts)), dtype=np.int64)
    freq = np.zeros((len(scope.codes), len(scope.transcripts), m), dtype=np.int64)
    for i, code in enumerate(scope.codes):
        for j, t in enumerate(scope.transcripts):
            for k, u in enumerate(scope.coders):
                spans = scope.spans.get((code.pk, t["pk"], u.pk))
                if spans:
                    pattern[i, j] |= 1 << k
                    freq[i, j, k] = len(stats.union(np.array(spans)))
    return pattern, freq


# --- the report -----------------------------------------------------------------------------


@dataclass
class CodeRow:
    code: Code
    figure: Figure
    existence: Figure
    frequency_equal: int
    frequency_transcripts: int
    cells: list[Figure]  # one per transcript
    position: int = 0  # in codebook order

    @property
    def frequency_percent(self) -> float | None:
        if self.frequency_transcripts < MIN_CODED["transcript"]:
            return None
        return self.frequency_equal / self.frequency_transcripts


@dataclass
class Period:
    start: dt.date
    transcripts: int
    figure: Figure


@dataclass
class Report:
    unit: str
    threshold: float
    coders: list[Any]
    transcripts: list[dict[str, Any]]
    rows: list[CodeRow]  # weakest first (alpha ascending; no figure last)
    per_transcript: list[Figure]
    pooled: Figure
    periods: list[Period]
    described: list[tuple[str, str]]

    @property
    def unit_label(self) -> str:
        return str(UNIT_LABELS[self.unit])

    @property
    def coder_names(self) -> str:
        return ", ".join(display_name(u) for u in self.coders)

    @property
    def two_coders(self) -> bool:
        return len(self.coders) == 2

    def as_json(self) -> dict[str, Any]:
        """The figures by code name, as ``manage.py agreement --json`` prints them."""
        return {
            "unit": self.unit,
            "threshold": self.threshold if self.unit == "passage" else None,
            "coders": [u.username for u in self.coders],
            "transcripts": len(self.transcripts),
            "pooled": self.pooled.as_json(),
            "codes": {
                r.code.name: {
                    **r.figure.as_json(),
                    "existence": r.existence.as_json(),
                    "frequency_percent": r.frequency_percent,
                    "frequency_transcripts": r.frequency_transcripts,
                }
                for r in self.rows
            },
            "per_transcript": [
                {"id": t["pk"], "title": t["title"], **f.as_json()}
                for t, f in zip(self.transcripts, self.per_transcript, strict=True)
            ],
        }


def _sort_key(row: CodeRow) -> tuple[int, float, str]:
    a = row.figure.alpha
    return (1, 0.0, row.code.name) if a is None else (0, a, row.code.name)


def build(
    project: Project,
    *,
    coder_ids: Sequence[int],
    data: Mapping[str, Any] | None = None,
    unit: str = "character",
    threshold: float = DEFAULT_THRESHOLD,
    resamples: int = RESAMPLES,
) -> Report:
    """The agreement report of ``coder_ids`` (two or more) over the scope of ``data``."""
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}")
    if len(set(coder_ids)) < 2:
        raise ValueError("agreement needs two or more coders")
    scope = load_scope(project, coder_ids=list(dict.fromkeys(coder_ids)), data=data)
    return report_of(scope, unit=unit, threshold=threshold, resamples=resamples)


def report_of(
    scope: Scope, *, unit: str, threshold: float = DEFAULT_THRESHOLD, resamples: int = RESAMPLES
) -> Report:
    m = len(scope.coders)
    counts = pattern_counts(scope, unit, threshold)
    n_t = len(scope.transcripts)
    weights = stats.bootstrap_weights(n_t, resamples) if n_t else np.zeros((0, 0))
    need = MIN_CODED[unit]

    def with_ci(c_by_t: np.ndarray) -> Figure:  # (transcripts, patterns)
        fig = figure(c_by_t.sum(axis=0), m, unit, need)
        if n_t >= 2:
            with_intervals(fig, weights @ c_by_t, m)
        return fig

    exists, freq = existence_counts(scope)
    rows = []
    for i, code in enumerate(scope.codes):
        ex = np.bincount(exists[i], minlength=2**m).astype(np.float64)
        used = exists[i] > 0
        equal = int(np.sum(used & np.all(freq[i] == freq[i][:, :1], axis=1)))
        rows.append(
            CodeRow(
                code=code,
                figure=with_ci(counts[i]),
                existence=figure(ex, m, "transcript", MIN_CODED["transcript"]),
                frequency_equal=equal,
                frequency_transcripts=int(used.sum()),
                cells=[figure(counts[i, j], m, unit, need) for j in range(n_t)],
                position=i,
            )
        )
    rows.sort(key=_sort_key)
    all_codes = counts.sum(axis=0)  # (transcripts, patterns)
    per_transcript = [figure(all_codes[j], m, unit, need) for j in range(n_t)]
    pooled = with_ci(all_codes)

    weeks: dict[dt.date, list[int]] = defaultdict(list)
    for j, t in enumerate(scope.transcripts):
        when = scope.finished.get(t["pk"])
        if when is not None:
            day = when.date()
            weeks[day - dt.timedelta(days=day.weekday())].append(j)
    periods = [
        Period(week, len(js), figure(all_codes[js].sum(axis=0), m, unit, need))
        for week, js in sorted(weeks.items())
    ]
    return Report(
        unit=unit,
        threshold=threshold,
        coders=scope.coders,
        transcripts=scope.transcripts,
        rows=rows,
        per_transcript=per_transcript,
        pooled=pooled,
        periods=periods,
        described=scope.described,
    )
