"""Writes that touch several models or have side effects. Keyword-only, typed, atomic."""

from __future__ import annotations

import bisect
import datetime as dt
import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import importers, nlp
from .models import (
    AuditAction,
    AuditEvent,
    Case,
    Code,
    Coding,
    CodingSource,
    Excerpt,
    FrameworkSummary,
    FrameworkSummaryRevision,
    Informant,
    Job,
    JobKind,
    JobStatus,
    Memo,
    Project,
    Sentence,
    Transcript,
    Turn,
)

log = logging.getLogger(__name__)


# --- audit ----------------------------------------------------------------------------------


def audit(
    *, project_id: int, actor, action: str, transcript_id: int | None = None, **details
) -> None:
    """Record one change to the coding. Call inside the transaction that makes the change."""
    AuditEvent.objects.create(
        project_id=project_id,
        transcript_id=transcript_id,
        actor=actor,
        action=action,
        details=details,
    )


# --- excerpts and codings -------------------------------------------------------------------


def check_span(transcript: Transcript, start: int, end: int) -> None:
    """The one check every path that stores offsets goes through."""
    if not (isinstance(start, int) and isinstance(end, int)):
        raise ValidationError(_("Offsets must be whole numbers."), code="offset_type")
    if start < 0 or end > len(transcript.text):
        raise ValidationError(_("The passage lies outside the transcript."), code="offset_range")
    if start >= end:
        raise ValidationError(_("The passage is empty or reversed."), code="offset_order")
    if not transcript.text[start:end].strip():
        raise ValidationError(_("The passage holds only white space."), code="offset_blank")


def _code_check(transcript: Transcript, codes: Iterable[Code]) -> list[Code]:
    codes = list(codes)
    codebook_ids = set(transcript.case.project.codebooks.values_list("pk", flat=True))
    for code in codes:
        if not isinstance(code, Code):
            # Applying by name could attach another codebook's code (see STYLE.md).
            raise TypeError("apply Code objects, never names")
        if code.codebook_id not in codebook_ids:
            raise ValidationError(
                _("The code “%(code)s” belongs to another project's codebook."),
                code="foreign_code",
                params={"code": code.name},
            )
    return codes


@transaction.atomic
def excerpt_code(
    *,
    transcript: Transcript,
    start: int,
    end: int,
    codes: Iterable[Code],
    coder,
    source: str = CodingSource.MANUAL,
    batch=None,
    paragraph_starts: list[int] | None = None,
) -> tuple[Excerpt, list[Coding]]:
    """Apply ``codes`` to [start, end) of ``transcript`` as ``coder``.

    Reuses the excerpt with the same span if there is one; a code the coder already applied there
    is not applied twice. Returns the excerpt and the codings created.
    """
    check_span(transcript, start, end)
    codes = _code_check(transcript, codes)
    excerpt, _created = Excerpt.objects.get_or_create(
        transcript=transcript,
        start=start,
        end=end,
        defaults={
            "text": transcript.text[start:end],
            "paragraph": _paragraph(transcript, start, paragraph_starts),
            "created_by": coder,
        },
    )
    existing = set(
        Coding.objects.filter(content_object=excerpt, coder=coder).values_list("tag_id", flat=True)
    )
    new = [
        Coding(tag=c, content_object=excerpt, coder=coder, source=source, batch=batch)
        for c in codes
        if c.pk not in existing
    ]
    Coding.objects.bulk_create(new)
    if new:
        audit(
            project_id=transcript.case.project_id,
            actor=coder,
            action=AuditAction.CODING_ADD,
            transcript_id=transcript.pk,
            excerpt=excerpt.pk,
            start=start,
            end=end,
            codes=[c.tag.name for c in new],
            source=source,
        )
    return excerpt, new


def _paragraph(transcript: Transcript, start: int, starts: list[int] | None) -> int:
    starts = starts if starts is not None else transcript.paragraph_starts()
    return max(1, bisect.bisect_right(starts, start))


@transaction.atomic
def coding_remove(*, coding: Coding, actor) -> None:
    """Remove one coding; an excerpt left without codings and memos goes too."""
    excerpt = coding.content_object
    audit(
        project_id=coding.tag.codebook.project_id,
        actor=actor,
        action=AuditAction.CODING_REMOVE,
        transcript_id=excerpt.transcript_id,
        excerpt=excerpt.pk,
        start=excerpt.start,
        end=excerpt.end,
        code=coding.tag.name,
        coder=coding.coder_id,
    )
    coding.delete()
    if not excerpt.codings.exists() and not excerpt.memos.exists():
        excerpt.delete()


# --- jobs -----------------------------------------------------------------------------------


def job_enqueue(job: Job) -> None:
    """Hand a queued job to the runner once the surrounding transaction commits."""
    from . import tasks

    runner = settings.JOB_RUNNER
    if runner == "eager":
        tasks.run_job(str(job.pk))
    elif runner == "celery":
        transaction.on_commit(lambda: tasks.run_job_task.delay(str(job.pk)))
    else:
        transaction.on_commit(lambda: tasks.run_in_thread(str(job.pk)))


# --- import ---------------------------------------------------------------------------------


@transaction.atomic
def import_prepare(
    *, project: Project, case: Case, user, upload=None, pasted: str = "", title: str = ""
) -> tuple[Job, importers.ParsedDocument]:
    """Check an upload (or pasted text) and keep it on a draft Job for the preview page."""
    if upload is not None:
        name = upload.name or "upload"
        doc = importers.read_document(upload, name)
        upload.seek(0)
        content = ContentFile(upload.read(), name=name)
    else:
        name = title or _("pasted text")
        doc = importers.parse_pasted(pasted, name)
        content = ContentFile(pasted.encode("utf-8"), name="pasted.txt")
    job = Job(
        project=project,
        kind=JobKind.IMPORT,
        status=JobStatus.DRAFT,
        created_by=user,
        input_name=name,
        params={"case_id": case.pk, "format": doc.fmt},
    )
    job.input_file.save(content.name, content, save=False)
    job.save()
    return job, doc


def parse_job_input(job: Job) -> importers.ParsedDocument:
    with job.input_file.open("rb") as fh:
        if job.params.get("format") == "paste":
            return importers.parse_pasted(fh.read().decode("utf-8"), job.input_name)
        return importers.read_document(fh, job.input_name)


@transaction.atomic
def import_confirm(*, job: Job, metadata: dict, speakers: dict[str, dict]) -> Job:
    """Fix the metadata and speaker mapping of a draft import and queue it."""
    if job.status != JobStatus.DRAFT:
        raise ValidationError(_("This import was already started."), code="not_draft")
    job.params = {**job.params, "metadata": metadata, "speakers": speakers}
    job.status = JobStatus.QUEUED
    job.save(update_fields=["params", "status"])
    job_enqueue(job)
    return job


def run_import(job: Job, progress: Callable[[int], None]) -> Transcript:
    """The import job's body: parse, segment, then save everything in one transaction."""
    doc = parse_job_input(job)
    progress(10)
    case = Case.objects.select_related("project").get(pk=job.params["case_id"], project=job.project)
    meta = job.params.get("metadata", {})
    speakers: dict[str, dict] = job.params.get("speakers", {})
    return transcript_create(
        case=case,
        doc=doc,
        title=meta.get("title") or job.input_name,
        interview_date=meta.get("interview_date") or None,
        mode=meta.get("mode", ""),
        interviewers=meta.get("interviewers", ""),
        informant_ids=meta.get("informant_ids", []),
        tags=meta.get("tags", []),
        speakers=speakers,
        user=job.created_by,
        original=job.input_file,
        original_name=job.input_name,
        progress=progress,
    )


def transcript_create(
    *,
    case: Case,
    doc: importers.ParsedDocument,
    title: str,
    speakers: dict[str, dict],
    user=None,
    interview_date: str | dt.date | None = None,
    mode: str = "",
    interviewers: str = "",
    informant_ids: Iterable[int] = (),
    tags: Iterable[str] = (),
    original=None,
    original_name: str = "",
    progress: Callable[[int], None] | None = None,
) -> Transcript:
    """Build a transcript with its turns and sentences; nothing is saved unless all of it is.

    ``speakers`` maps each speaker label to {"kind": "interviewer"|"informant"|"none",
    "informant_id": id}. Informant ids must belong to ``case``.
    """
    progress = progress or (lambda pct: None)
    labels = {label for label, v in speakers.items() if v.get("kind") != "none"}
    text, turn_spans = importers.build_text_and_turns(doc, labels)
    if not text.strip():
        raise ValidationError(
            _("%(file)s: the document has no text."), code="empty", params={"file": doc.name}
        )
    informants = {i.pk: i for i in Informant.objects.filter(case=case)}
    wanted = {int(i) for i in informant_ids}
    for v in speakers.values():
        if v.get("kind") == "informant":
            wanted.add(int(v["informant_id"]))
    if not wanted <= informants.keys():
        raise ValidationError(_("An informant does not belong to this case."), code="informant")
    progress(20)

    def sentence_progress(frac: float) -> None:
        progress(20 + int(frac * 60))

    sentences = nlp.split_sentences(
        text, [(t.content_start, t.end) for t in turn_spans], progress=sentence_progress
    )
    progress(80)
    with transaction.atomic():
        transcript = Transcript(
            case=case,
            title=title[:300],
            interview_date=interview_date or None,
            mode=mode,
            interviewers=interviewers,
            text=text,
            word_count=nlp.count_words(text),
            created_by=user,
            original_name=original_name,
        )
        if original:
            transcript.original_file.name = original.name
        transcript.save()
        turns = []
        for i, t in enumerate(turn_spans):
            who = speakers.get(t.label, {}) if t.label else {}
            turns.append(
                Turn(
                    transcript=transcript,
                    index=i,
                    start=t.start,
                    content_start=t.content_start,
                    end=t.end,
                    label=t.label,
                    is_interviewer=who.get("kind") == "interviewer",
                    informant=informants.get(int(who["informant_id"]))
                    if who.get("kind") == "informant"
                    else None,
                )
            )
        Turn.objects.bulk_create(turns, batch_size=1000)
        rows = []
        n = 0
        for turn, sents in zip(turns, sentences, strict=True):
            for s in sents:
                rows.append(
                    Sentence(
                        transcript=transcript,
                        turn=turn,
                        index=n,
                        start=s.start,
                        end=s.end,
                        lemmas=s.lemmas,
                    )
                )
                n += 1
        Sentence.objects.bulk_create(rows, batch_size=2000)
        transcript.informants.set([informants[i] for i in wanted])
        if tags:
            transcript.tags.set(list(tags))
        audit(
            project_id=case.project_id,
            actor=user,
            action=AuditAction.TRANSCRIPT_IMPORT,
            transcript_id=transcript.pk,
            file=original_name or doc.name,
            words=transcript.word_count,
        )
    progress(100)
    return transcript


# --- memos ----------------------------------------------------------------------------------


@transaction.atomic
def memo_save(
    *,
    project: Project,
    author,
    text: str,
    title: str = "",
    memo: Memo | None = None,
    excerpt: Excerpt | None = None,
    transcript: Transcript | None = None,
    case: Case | None = None,
    code: Code | None = None,
) -> Memo:
    """Create a memo, or update ``memo``'s text. Targets must belong to ``project``."""
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("A memo needs some text."), code="memo_empty")
    if len(text) > settings.MEMO_MAX_CHARS:
        raise ValidationError(
            _("A memo may hold at most %(n)s characters."),
            code="memo_too_long",
            params={"n": settings.MEMO_MAX_CHARS},
        )
    owners = {
        excerpt.transcript.case.project_id if excerpt else None,
        transcript.case.project_id if transcript else None,
        case.project_id if case else None,
        code.codebook.project_id if code else None,
    } - {None}
    if owners - {project.pk}:
        raise ValidationError(
            _("The memo's target belongs to another project."), code="memo_foreign"
        )
    now = timezone.now()
    if memo is None:
        memo = Memo.objects.create(
            project=project,
            author=author,
            text=text,
            title=title[:200],
            excerpt=excerpt,
            transcript=transcript,
            case=case,
            code=code,
            created_at=now,
            updated_at=now,
        )
    else:
        memo.text = text
        memo.title = title[:200] or memo.title
        memo.updated_at = now
        memo.save(update_fields=["text", "title", "updated_at"])
    audit(
        project_id=project.pk,
        actor=author,
        action=AuditAction.MEMO_SAVE,
        transcript_id=(excerpt.transcript_id if excerpt else transcript.pk if transcript else None),
        memo=memo.pk,
        length=len(text),
    )
    return memo


# --- framework matrix -----------------------------------------------------------------------


@transaction.atomic
def framework_summary_save(
    *,
    project: Project,
    case: Case,
    code: Code,
    author,
    text: str,
    base_version: int,
) -> FrameworkSummary:
    """Save the summary of what ``case`` shows for ``code``; every saved text is kept.

    ``base_version`` is the version the author started from (0 for a cell without a summary):
    when someone saved the cell since, nothing is written and a ValidationError with code
    "stale" asks the author to merge their text with the newer one.
    """
    if case.project_id != project.pk or code.codebook.project_id != project.pk:
        raise ValidationError(
            _("The case or the code belongs to another project."), code="framework_foreign"
        )
    text = (text or "").strip()
    if len(text) > settings.MEMO_MAX_CHARS:
        raise ValidationError(
            _("A summary may hold at most %(n)s characters."),
            code="framework_too_long",
            params={"n": settings.MEMO_MAX_CHARS},
        )
    stale = ValidationError(
        _(
            "Someone saved this summary while you were writing. Their text is shown below; "
            "merge yours into it and save again."
        ),
        code="stale",
    )
    now = timezone.now()
    summary = FrameworkSummary.objects.select_for_update().filter(case=case, code=code).first()
    if summary is None:
        if base_version:
            raise stale
        try:
            with transaction.atomic():
                summary = FrameworkSummary.objects.create(
                    project=project,
                    case=case,
                    code=code,
                    text=text,
                    author=author,
                    version=1,
                    created_at=now,
                    updated_at=now,
                )
        except IntegrityError as exc:  # another author created the cell a moment ago
            raise stale from exc
    else:
        if summary.version != base_version:
            raise stale
        if summary.text == text:
            return summary
        summary.text = text
        summary.author = author
        summary.version += 1
        summary.updated_at = now
        summary.save(update_fields=["text", "author", "version", "updated_at"])
    FrameworkSummaryRevision.objects.create(
        summary=summary, version=summary.version, text=text, author=author, saved_at=now
    )
    return summary
