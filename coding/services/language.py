"""Coding from search and suggestions, code keywords, and the language jobs."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coding.language import classifier
from coding.models import (
    AuditAction,
    Code,
    Coding,
    CodingSource,
    Excerpt,
    Job,
    JobKind,
    JobStatus,
    Project,
    Suggestion,
    SuggestionDecision,
    SuggestionVerdict,
    Transcript,
    job_fail_if_stale,
)
from coding.services.audit import audit
from coding.services.codebook import _save_code
from coding.services.coding import excerpt_code
from coding.services.excerpts import check_span, coding_added, lock_codes_in_use
from coding.services.jobs import job_enqueue


@transaction.atomic
def search_code_apply(
    *,
    project: Project,
    code: Code,
    passages: Iterable[tuple[Transcript, int, int]],
    coder: User,
) -> tuple[uuid.UUID, int]:
    """Apply ``code`` to each (transcript, start, end) passage as one batch that one undo
    takes back. Passages the coder already coded with ``code`` stay as they were and are not
    part of the batch. Returns the batch id and the number of codings made.

    The same rules as ``excerpt_code`` (span check, codebook check, the code held against a
    concurrent merge, an audit event per passage), but a query per transcript rather than
    several per passage: a search can code a thousand sentences at once.
    """
    if code.codebook.project_id != project.pk:
        raise ValidationError(
            _("The code “%(code)s” belongs to another project's codebook."),
            code="foreign_code",
            params={"code": code.name},
        )
    by_transcript: dict[int, tuple[Transcript, set[tuple[int, int]]]] = {}
    for transcript, start, end in passages:
        if transcript.case.project_id != project.pk:
            raise ValidationError(
                _("A passage belongs to another project."), code="foreign_passage"
            )
        check_span(transcript, start, end)
        by_transcript.setdefault(transcript.pk, (transcript, set()))[1].add((start, end))
    lock_codes_in_use([code.pk])
    batch = uuid.uuid4()
    made = 0
    for transcript, spans in by_transcript.values():
        starts = transcript.paragraph_starts()
        have = {
            (x.start, x.end)
            for x in Excerpt.objects.filter(
                transcript=transcript, start__in={s for s, _e in spans}
            ).only("start", "end")
        }
        Excerpt.objects.bulk_create(
            [
                Excerpt(
                    transcript=transcript,
                    start=s,
                    end=e,
                    **Excerpt.span_fields(transcript, s, e, starts),
                    created_by=coder,
                )
                for s, e in sorted(spans - have)
            ],
            ignore_conflicts=True,  # made meanwhile by someone else: theirs is used below
        )
        excerpts = [
            x
            for x in Excerpt.objects.filter(
                transcript=transcript, start__in={s for s, _e in spans}
            ).order_by("start", "end")
            if (x.start, x.end) in spans
        ]
        done = set(
            Coding.objects.coder_layer()
            .filter(content_object__in=excerpts, tag=code, coder=coder)
            .values_list("content_object_id", flat=True)
        )
        new = [x for x in excerpts if x.pk not in done]
        Coding.objects.bulk_create(
            [
                Coding(
                    tag=code,
                    content_object=x,
                    coder=coder,
                    source=CodingSource.SEARCH,
                    batch=batch,
                )
                for x in new
            ]
        )
        for x in new:
            audit(
                project_id=project.pk,
                actor=coder,
                action=AuditAction.CODING_ADD,
                transcript_id=transcript.pk,
                **coding_added(
                    excerpt_id=x.pk,
                    start=x.start,
                    end=x.end,
                    codes=[code],
                    source=CodingSource.SEARCH,
                    batch=str(batch),
                ),
            )
        made += len(new)
    return batch, made


@transaction.atomic
def suggestion_accept(*, suggestion: Suggestion, user: User) -> Coding:
    """Make the suggested coding as ``user`` (source "suggestion") and record the acceptance."""
    excerpt, new = excerpt_code(
        transcript=suggestion.transcript,
        start=suggestion.start,
        end=suggestion.end,
        codes=[suggestion.code],
        coder=user,
        source=CodingSource.SUGGESTION,
    )
    coding = new[0] if new else excerpt.codings.get(tag=suggestion.code, coder=user)
    SuggestionDecision.objects.update_or_create(
        suggestion=suggestion,
        user=user,
        defaults={
            "verdict": SuggestionVerdict.ACCEPTED,
            "source": suggestion.source,
            "classifier": suggestion.classifier,
            "coding": coding,
            "created_at": timezone.now(),
        },
    )
    return coding


@transaction.atomic
def suggestion_reject(*, suggestion: Suggestion, user: User) -> SuggestionDecision:
    """Record that ``user`` does not want this suggestion (it is not shown to them again)."""
    decision, _created = SuggestionDecision.objects.update_or_create(
        suggestion=suggestion,
        user=user,
        defaults={
            "verdict": SuggestionVerdict.REJECTED,
            "source": suggestion.source,
            "classifier": suggestion.classifier,
            "coding": None,
            "created_at": timezone.now(),
        },
    )
    return decision


@transaction.atomic
def code_keywords_add(*, code: Code, actor: User, keywords: Sequence[str]) -> list[str]:
    """Add keywords an owner accepted (mined from the coding) to ``code``'s list, each once,
    and refresh the suggestions. Returns the words added. Audited as a code change."""
    lines = classifier.keyword_lines(code.keywords)
    have = {kw.casefold() for kw in lines}
    added = []
    for kw in keywords:
        kw = " ".join(kw.split())
        if kw and kw.casefold() not in have:
            have.add(kw.casefold())
            added.append(kw)
    if not added:
        return []
    code.keywords = "\n".join([*lines, *added])
    _save_code(code, update_fields=["keywords"])
    audit(
        project_id=code.codebook.project_id,
        actor=actor,
        action=AuditAction.CODE_UPDATE,
        code=code.pk,
        name=code.name,
        fields=["keywords"],
        added_keywords=added,
    )
    language_job_start(project=code.codebook.project, user=actor, kind=JobKind.SUGGEST)
    return added


@transaction.atomic
def code_keyword_remove(*, code: Code, actor: User, keyword: str) -> list[str]:
    """Take one keyword (or phrase) off ``code``'s keyword list, as a researcher does from a
    suggestion card, and refresh the suggestions. Returns the keywords left. Audited as a code
    change naming the keyword."""
    wanted = " ".join(keyword.split()).casefold()
    lines = classifier.keyword_lines(code.keywords)
    left = [kw for kw in lines if kw.casefold() != wanted]
    if not wanted or len(left) == len(lines):
        raise ValidationError(
            _("“%(kw)s” is not one of the code's keywords.") % {"kw": keyword}, code="no_keyword"
        )
    code.keywords = "\n".join(left)
    _save_code(code, update_fields=["keywords"])
    audit(
        project_id=code.codebook.project_id,
        actor=actor,
        action=AuditAction.CODE_UPDATE,
        code=code.pk,
        name=code.name,
        fields=["keywords"],
        removed_keyword=" ".join(keyword.split()),
    )
    language_job_start(project=code.codebook.project, user=actor, kind=JobKind.SUGGEST)
    return left


@transaction.atomic
def language_job_start(*, project: Project, user: User | None, kind: str, **params: Any) -> Job:
    """Queue a REINDEX, TRAIN or SUGGEST job for ``project`` (one of a kind at a time: a job
    already queued or running is returned instead of a second one). ``user`` None: a scheduled
    retraining."""
    if kind not in (JobKind.REINDEX, JobKind.TRAIN, JobKind.SUGGEST):
        raise ValueError(f"not a language job: {kind}")
    running = Job.objects.filter(
        project=project, kind=kind, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
    ).first()
    if running is not None and not job_fail_if_stale(running):
        return running
    if kind == JobKind.TRAIN:
        params = {**params, "codings": Coding.objects.for_project(project).count()}
    job = Job.objects.create(
        project=project, kind=kind, status=JobStatus.QUEUED, created_by=user, params=params
    )
    job_enqueue(job)
    return job
