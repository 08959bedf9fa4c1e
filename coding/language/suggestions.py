"""Coding suggestions for a project: passages, what was coded there, training and refreshing.

A *passage* is what suggestions are made for: an informant's speaker turn, or a run of its
sentences when the turn is long (``MAX_PASSAGE_CHARS``). Only interview text gets suggestions:
sentences of interview-text turns (``Turn.objects.interview_text_of``, the rule search and
the matrices' share of text use too), so never a
transcript's heading or metadata block (text before the first speaker turn, which has no
speaker), and an interviewer's turns only in a project that counts them as interview text
(``Project.interviewer_turns_are_interview_text``).
A passage carries a code when a coding of that code covers at least half of the passage or half
of the coded excerpt (``covers``), the one rule used for training, for the JSONL files of
``make_suggestion_jsonl`` and for hiding suggestions a researcher has already followed.

Jobs: TRAIN learns a model from the project's codings (all coders) and then refreshes the
suggestions; SUGGEST only refreshes them (keywords changed, transcripts added). Refreshing keeps
every suggestion someone decided on, so the usefulness counts survive.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from coding.language import classifier, lemma_index
from coding.models import (
    Code,
    CodeClassifier,
    Coding,
    Job,
    JobKind,
    JobStatus,
    Project,
    Sentence,
    Suggestion,
    SuggestionDecision,
    SuggestionSource,
    SuggestionVerdict,
    Transcript,
    Turn,
    job_fail_if_stale,
)

MAX_PASSAGE_CHARS = 1500
MODELS_DIR = "suggestion-models"
KEEP_MODEL_FILES = 3


@dataclass(frozen=True)
class Passage:
    transcript_id: int
    start: int
    end: int
    lemmas: tuple[str, ...]


def covers(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    """Whether two spans share at least half of the shorter one."""
    overlap = min(a_end, b_end) - max(a_start, b_start)
    return overlap > 0 and 2 * overlap >= min(a_end - a_start, b_end - b_start)


def passages(transcript_ids: Iterable[int]) -> dict[int, list[Passage]]:
    """The passages of each transcript, in text order: its interview text only, which in a
    project that says so includes the interviewer's turns."""
    ids = list(transcript_ids)
    rows = (
        Sentence.objects.filter(transcript_id__in=ids, turn__in=Turn.objects.interview_text_of())
        .order_by("transcript_id", "index")
        .values_list("transcript_id", "turn_id", "start", "end", "lemmas")
    )
    out: dict[int, list[Passage]] = {pk: [] for pk in ids}
    current: list[tuple[int, int, str]] = []
    key: tuple[int, int] | None = None

    def flush() -> None:
        if current and key is not None:
            lemmas = tuple(w for _s, _e, lem in current for w in lem.split())
            out[key[0]].append(Passage(key[0], current[0][0], current[-1][1], lemmas))
        current.clear()

    for tid, turn_id, start, end, lemmas in rows:
        if key != (tid, turn_id) or (current and end - current[0][0] > MAX_PASSAGE_CHARS):
            flush()
            key = (tid, turn_id)
        current.append((start, end, lemmas))
    flush()
    return out


def coded_spans(
    transcript_ids: Iterable[int], *, coder: User | None = None, project: Project | None = None
) -> dict[int, list[tuple[int, int, int]]]:
    """(start, end, code id) of the codings in each transcript, optionally of one coder (their
    own codings: the consensus they decided is not their coding)."""
    qs = Coding.objects.filter(content_object__transcript_id__in=list(transcript_ids))
    if coder is not None:
        qs = qs.coder_layer().filter(coder=coder)
    if project is not None:
        qs = qs.filter(tag__codebook__project=project)
    out: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for tid, s, e, code_id in qs.values_list(
        "content_object__transcript_id", "content_object__start", "content_object__end", "tag_id"
    ):
        out[tid].append((s, e, code_id))
    return out


def passage_codes(passage: Passage, spans: Sequence[tuple[int, int, int]]) -> set[int]:
    return {code for s, e, code in spans if covers(passage.start, passage.end, s, e)}


def examples(
    project: Project,
    *,
    coder: User | None = None,
    case_ids: Iterable[int] | None = None,
) -> list[tuple[Passage, set[int]]]:
    """Passages of every transcript with codings (of ``coder``), and the codes they carry.

    A passage without codes in a coded transcript is a negative example: the coder read it and
    chose not to code it. Transcripts nobody coded yet are left out.
    """
    transcripts = Transcript.objects.filter(case__project=project)
    if case_ids is not None:
        transcripts = transcripts.filter(case_id__in=list(case_ids))
    ids = list(transcripts.values_list("pk", flat=True))
    spans = coded_spans(ids, coder=coder, project=project)
    coded_ids = [pk for pk in ids if spans.get(pk)]
    out = []
    for tid, items in passages(coded_ids).items():
        for p in items:
            out.append((p, passage_codes(p, spans[tid])))
    return out


def passage_texts(items: Sequence[Passage]) -> list[str]:
    """The text of each passage."""
    texts = dict(
        Transcript.objects.filter(pk__in={p.transcript_id for p in items}).values_list("pk", "text")
    )
    return [texts[p.transcript_id][p.start : p.end] for p in items]


# --- models on disk -------------------------------------------------------------------------


def model_dir(project_id: int, version: int) -> Path:
    return Path(settings.MEDIA_ROOT) / MODELS_DIR / f"project-{project_id}" / f"v{version}"


@lru_cache(maxsize=4)
def _load(path: str) -> classifier.Model:
    return classifier.Model.from_disk(Path(path))


def load_model(row: CodeClassifier) -> classifier.Model | None:
    path = Path(settings.MEDIA_ROOT) / row.path
    if not (path / "meta.json").exists():
        return None
    return _load(str(path))


def latest_classifier(project: Project) -> CodeClassifier | None:
    return CodeClassifier.objects.filter(project=project).order_by("-version").first()


def keyword_matcher(project: Project) -> classifier.KeywordMatcher:
    codes = Code.objects.filter(codebook__project=project).exclude(keywords="")
    return classifier.KeywordMatcher(
        {str(c.pk): classifier.keyword_lines(c.keywords) for c in codes}
    )


def mined_keywords(code: Code, *, top: int = 10) -> list[tuple[str, float]]:
    """Lemmas typical of the passages coded with ``code`` in its project (every coder) against
    the other passages of the coded transcripts (``classifier.distinctive_lemmas``), leaving
    out the code's own keywords. Offered to an owner in the codebook editor, never added."""
    data = examples(code.codebook.project)
    label = str(code.pk)
    return classifier.distinctive_lemmas(
        [(p.lemmas, {str(c) for c in codes}) for p, codes in data],
        label,
        exclude=classifier.keyword_lines(code.keywords),
        top=top,
    )


# --- jobs -----------------------------------------------------------------------------------


def too_few_message(exc: classifier.TooFewCodings) -> str:
    return _(
        "Too few codings to learn from: %(coded)s coded passages, and a code needs at least "
        "%(per_code)s. The model learns once there are %(min)s coded passages; keyword "
        "suggestions work meanwhile."
    ) % {"coded": exc.coded, "per_code": classifier.MIN_POSITIVES, "min": classifier.MIN_CODED}


def run_train_job(job: Job, progress: Callable[[int], None]) -> str:
    """TRAIN job body: learn from the project's codings, store a new version, refresh."""
    project = job.project
    data = examples(project)
    n_codings = Coding.objects.for_project(project).count()
    matcher = keyword_matcher(project)
    progress(5)
    try:
        model = classifier.train(
            [(p.lemmas, {str(c) for c in codes}) for p, codes in data],
            keyword_hits=[set(matcher.match(p.lemmas)) for p, _c in data],
            groups=[p.transcript_id for p, _c in data],
            progress=lambda frac: progress(5 + int(70 * frac)),
        )
    except classifier.TooFewCodings as exc:
        n = refresh(project, progress=lambda frac: progress(75 + int(25 * frac)))
        return f"{too_few_message(exc)} " + _keyword_count(n)
    names = dict(Code.objects.filter(codebook__project=project).values_list("pk", "name"))
    latest = latest_classifier(project)
    version = (latest.version + 1) if latest else 1
    path = model_dir(project.pk, version)
    model.to_disk(path)
    row = CodeClassifier.objects.create(
        project=project,
        version=version,
        path=str(path.relative_to(settings.MEDIA_ROOT)),
        codes=[
            {"code": int(c), "name": names.get(int(c), ""), "positives": model.positives[c]}
            for c in model.labels
        ],
        skipped=[
            {"code": int(c), "name": names.get(int(c), ""), "positives": n}
            for c, n in sorted(model.skipped.items(), key=lambda kv: -kv[1])
        ],
        metrics={**model.metrics, "threshold": model.threshold},
        n_units=model.n_examples,
        n_codings=n_codings,
        pipeline=lemma_index.INDEX_VERSION,
        created_by=job.created_by,
    )
    _prune_model_files(project)
    n = refresh(project, row=row, progress=lambda frac: progress(75 + int(25 * frac)))
    cv = model.metrics["cross_validated"]
    return _(
        "Learned %(codes)s codes from %(passages)s passages (version %(version)s; "
        "cross-validated micro F1 %(f1).2f). %(n)s suggestions are waiting."
    ) % {
        "codes": len(model.labels),
        "passages": model.n_examples,
        "version": version,
        "f1": cv["micro_f1"],
        "n": n,
    }


def _keyword_count(n: int) -> str:
    return ngettext(
        "%(n)s keyword suggestion is waiting.", "%(n)s keyword suggestions are waiting.", n
    ) % {"n": n}


def run_suggest_job(job: Job, progress: Callable[[int], None]) -> str:
    """SUGGEST job body: refresh the suggestions with the current keywords and model."""
    n = refresh(job.project, progress=lambda frac: progress(int(100 * frac)))
    return ngettext("%(n)s suggestion is waiting.", "%(n)s suggestions are waiting.", n) % {"n": n}


def _prune_model_files(project: Project) -> None:
    """Keep the files of the newest versions; rows stay for the usefulness figures."""
    for row in CodeClassifier.objects.filter(project=project).order_by("-version")[
        KEEP_MODEL_FILES:
    ]:
        shutil.rmtree(Path(settings.MEDIA_ROOT) / row.path, ignore_errors=True)


def predict(
    items: Sequence[Passage],
    matcher: classifier.KeywordMatcher,
    model: classifier.Model | None,
) -> list[dict[int, tuple[str, float | None, list[str]]]]:
    """Per passage: code id -> (source, model score or None, keywords found), by the one shown
    rule (``classifier.suggest``). The source says what decided: the keywords alone, the model
    alone, or both (a keyword hit under a rule that also asks the model)."""
    rules = model.rules if model else {}
    out = []
    for shown in classifier.suggest([p.lemmas for p in items], matcher, model):
        codes: dict[int, tuple[str, float | None, list[str]]] = {}
        for label, (found, score) in shown.items():
            uses_model = label in rules and rules[label].uses_model
            source = (
                SuggestionSource.MODEL
                if not found
                else SuggestionSource.BOTH
                if uses_model
                else SuggestionSource.KEYWORD
            )
            codes[int(label)] = (source, score, found)
        out.append(codes)
    return out


def refresh(
    project: Project,
    *,
    row: CodeClassifier | None = None,
    transcript_ids: Iterable[int] | None = None,
    progress: Callable[[float], None] | None = None,
) -> int:
    """Recompute the suggestions of ``project`` (or of some of its transcripts).

    Suggestions someone decided on stay as they are; others are updated, added or removed.
    Returns the number of suggestions nobody has decided on yet.
    """
    progress = progress or (lambda frac: None)
    row = row or latest_classifier(project)
    model = load_model(row) if row else None
    matcher = keyword_matcher(project)
    valid_codes = set(Code.objects.filter(codebook__project=project).values_list("pk", flat=True))
    if transcript_ids is None:
        transcript_ids = Transcript.objects.filter(case__project=project).values_list(
            "pk", flat=True
        )
    ids = list(transcript_ids)
    for n, tid in enumerate(ids, start=1):
        items = passages([tid])[tid]
        wanted: dict[tuple[int, int, int], tuple[str, float | None, list[str]]] = {}
        for p, codes in zip(items, predict(items, matcher, model), strict=True):
            for code_id, value in codes.items():
                if code_id in valid_codes:
                    wanted[(p.start, p.end, code_id)] = value
        _store(tid, wanted, row if model else None)
        progress(n / max(1, len(ids)))
    return (
        Suggestion.objects.filter(transcript__case__project=project)
        .exclude(Exists(SuggestionDecision.objects.filter(suggestion=OuterRef("pk"))))
        .count()
    )


def after_import(transcript: Transcript) -> None:
    """Called by ``services.transcript_create`` after its write transaction: propose codes for
    the new transcript's passages (each transcript's suggestions are stored in a transaction of
    their own; a crash before this leaves a transcript without suggestions, not half of one)."""
    refresh(transcript.case.project, transcript_ids=[transcript.pk])


@transaction.atomic
def _store(
    transcript_id: int,
    wanted: dict[tuple[int, int, int], tuple[str, float | None, list[str]]],
    row: CodeClassifier | None,
) -> None:
    existing = {
        (s.start, s.end, s.code_id): s
        for s in Suggestion.objects.filter(transcript_id=transcript_id).annotate(
            n_decisions=Count("decisions")
        )
    }
    create: list[Suggestion] = []
    update: list[Suggestion] = []
    drop: list[int] = []
    now = timezone.now()
    for key, old in existing.items():
        if key not in wanted and not old.n_decisions:
            drop.append(old.pk)
    for (start, end, code_id), (source, score, keywords) in wanted.items():
        fields = {
            "source": source,
            "score": score,
            "keywords": ", ".join(keywords)[:300],
            "classifier": row if source != SuggestionSource.KEYWORD else None,
        }
        s = existing.get((start, end, code_id))
        if s is None:
            create.append(
                Suggestion(
                    transcript_id=transcript_id,
                    code_id=code_id,
                    start=start,
                    end=end,
                    created_at=now,
                    **fields,
                )
            )
        elif not s.n_decisions:
            for k, v in fields.items():
                setattr(s, k, v)
            update.append(s)
    Suggestion.objects.filter(pk__in=drop).delete()
    Suggestion.objects.bulk_create(create, batch_size=1000)
    Suggestion.objects.bulk_update(
        update, ["source", "score", "keywords", "classifier"], batch_size=1000
    )


# --- reading --------------------------------------------------------------------------------


def open_for(transcript: Transcript, user: User) -> list[Suggestion]:
    """The suggestions ``user`` has not answered, leaving out codes they already applied there."""
    items = list(
        Suggestion.objects.filter(transcript=transcript)
        .exclude(decisions__user=user)
        .select_related("code", "classifier")
        .order_by("start", "code__order", "code__name")
    )
    mine = coded_spans([transcript.pk], coder=user).get(transcript.pk, [])
    return [
        s
        for s in items
        if not any(code == s.code_id and covers(s.start, s.end, a, b) for a, b, code in mine)
    ]


def retrain_due(project: Project) -> bool:
    """Whether enough codings were added since the last training (and none is under way)."""
    n = Coding.objects.for_project(project).count()
    if n < classifier.MIN_CODED:
        return False
    last = Job.objects.filter(project=project, kind=JobKind.TRAIN).order_by("-created_at").first()
    if last is not None and last.status in (JobStatus.QUEUED, JobStatus.RUNNING):
        if not job_fail_if_stale(last):
            return False
    since = int(last.params.get("codings", 0)) if last is not None else 0
    return n - since >= settings.SUGGESTIONS_RETRAIN_AFTER


def usefulness(project: Project) -> list[dict[str, Any]]:
    """Per code: accepted and rejected suggestions by source, how many wait, and the latest
    model's cross-validated precision and recall of the shown rule (``cv``; None before a model
    was trained)."""
    row = latest_classifier(project)
    metrics = (row.metrics or {}) if row else {}
    cv_codes = (metrics.get("shown_cross_validated") or {}).get("per_code", {})
    decided = (
        SuggestionDecision.objects.filter(suggestion__code__codebook__project=project)
        .values("suggestion__code_id", "source")
        .annotate(
            accepted=Count("pk", filter=Q(verdict=SuggestionVerdict.ACCEPTED)),
            rejected=Count("pk", filter=Q(verdict=SuggestionVerdict.REJECTED)),
        )
    )
    waiting = dict(
        Suggestion.objects.filter(code__codebook__project=project)
        .exclude(Exists(SuggestionDecision.objects.filter(suggestion=OuterRef("pk"))))
        .values("code_id")
        .annotate(n=Count("pk"))
        .values_list("code_id", "n")
    )
    by_code: dict[int, dict[str, Any]] = defaultdict(
        lambda: {
            "keyword": {"accepted": 0, "rejected": 0},
            "model": {"accepted": 0, "rejected": 0},
        }
    )
    for r in decided:
        # A suggestion both sources made counts for each of them.
        for src in ("keyword", "model"):
            if r["source"] in (src, SuggestionSource.BOTH):
                by_code[r["suggestion__code_id"]][src]["accepted"] += r["accepted"]
                by_code[r["suggestion__code_id"]][src]["rejected"] += r["rejected"]
    rows = []
    for code in Code.objects.filter(codebook__project=project).in_tree_order():
        counts = by_code.get(code.pk)
        cv = cv_codes.get(str(code.pk))
        if counts is None and not waiting.get(code.pk) and not code.keywords and not cv:
            continue
        counts = counts or by_code[code.pk]
        total_acc = counts["keyword"]["accepted"] + counts["model"]["accepted"]
        total_rej = counts["keyword"]["rejected"] + counts["model"]["rejected"]
        rows.append(
            {
                "code": code,
                "keyword": _rates(counts["keyword"]),
                "model": _rates(counts["model"]),
                "waiting": waiting.get(code.pk, 0),
                "n_keywords": len(classifier.keyword_lines(code.keywords)),
                "decided": total_acc + total_rej,
                "cv": cv,
            }
        )
    return rows


def _rates(c: dict[str, Any]) -> dict[str, Any]:
    n = c["accepted"] + c["rejected"]
    rate = c["accepted"] / n if n else None
    return {
        **c,
        "decided": n,
        "rate": rate,
        "accepted_pct": round(100 * c["accepted"] / n) if n else 0,
        "rejected_pct": 100 - round(100 * c["accepted"] / n) if n else 0,
    }


def classifier_usefulness(project: Project) -> list[dict[str, Any]]:
    """Each model version with its accepted and rejected suggestions."""
    counts = {
        r["classifier_id"]: r
        for r in SuggestionDecision.objects.filter(classifier__project=project)
        .values("classifier_id")
        .annotate(
            accepted=Count("pk", filter=Q(verdict=SuggestionVerdict.ACCEPTED)),
            rejected=Count("pk", filter=Q(verdict=SuggestionVerdict.REJECTED)),
        )
    }
    out = []
    for row in CodeClassifier.objects.filter(project=project).select_related("created_by"):
        c = counts.get(row.pk, {"accepted": 0, "rejected": 0})
        out.append({"row": row, **_rates({"accepted": c["accepted"], "rejected": c["rejected"]})})
    return out
