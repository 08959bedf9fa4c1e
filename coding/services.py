"""Writes that touch several models or have side effects. Keyword-only, typed, atomic."""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from coding import importers, nlp
from coding.language import classifier, lemma_index
from coding.models import (
    AuditAction,
    AuditEvent,
    Case,
    Code,
    Codebook,
    Coding,
    CodingSource,
    Excerpt,
    FrameworkSummary,
    FrameworkSummaryRevision,
    Informant,
    Job,
    JobKind,
    JobStatus,
    KeyQuote,
    Membership,
    Memo,
    MemoLink,
    MemoType,
    Project,
    Role,
    Sentence,
    Suggestion,
    SuggestionDecision,
    SuggestionVerdict,
    Transcript,
    Turn,
    job_fail_if_stale,
    name_key,
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
    in_vivo: bool = False,
) -> tuple[Excerpt, list[Coding]]:
    """Apply ``codes`` to [start, end) of ``transcript`` as ``coder``.

    Reuses the excerpt with the same span if there is one; a code the coder already applied there
    is not applied twice. Returns the excerpt and the codings created. ``in_vivo`` marks a code
    made for this coding from its words: undoing the coding deletes the code again if unused.
    """
    check_span(transcript, start, end)
    codes = _code_check(transcript, codes)
    for _attempt in range(3):
        excerpt, _created = Excerpt.objects.get_or_create(
            transcript=transcript,
            start=start,
            end=end,
            defaults={
                **Excerpt.span_fields(transcript, start, end, paragraph_starts),
                "created_by": coder,
            },
        )
        # Held until commit: a removal that would drop the excerpt as bare waits for this
        # coding (or, if it took the excerpt first and dropped it, the excerpt is made again).
        if _lock_excerpts([excerpt.pk]):
            break
    else:
        raise ValidationError(
            _("The passage was changed by someone else just now; please try again."),
            code="excerpt_busy",
        )
    existing = set(
        Coding.objects.filter(content_object=excerpt, coder=coder).values_list("tag_id", flat=True)
    )
    new = [
        Coding(tag=c, content_object=excerpt, coder=coder, source=source, batch=batch)
        for c in codes
        if c.pk not in existing
    ]
    _lock_codes_in_use([c.tag_id for c in new])
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
            code_ids=[c.tag_id for c in new],
            source=source,
            **({"in_vivo": True} if in_vivo else {}),
        )
    return excerpt, new


@dataclass(frozen=True)
class ImportedSpan:
    """One passage of an imported project: its span, who marked it and when, and its codings
    as (code, coder, created_at)."""

    start: int
    end: int
    created_by: object
    created_at: dt.datetime | None
    codings: tuple[tuple[Code, object, dt.datetime | None], ...]


@transaction.atomic
def excerpts_import(
    *, transcript: Transcript, spans: Iterable[ImportedSpan], actor
) -> dict[tuple[int, int], Excerpt]:
    """Store the passages and codings of an imported source in a few queries (REFI-QDA import).

    The same rules as ``excerpt_code`` (``check_span`` on every span, codes of the transcript's
    codebook only, one excerpt per span and one coding per code and coder) but in bulk; the
    codings have source "import" and are not undoable. Returns the excerpts by span.
    """
    spans = list(spans)
    for sp in spans:
        check_span(transcript, sp.start, sp.end)
    _code_check(transcript, {c for sp in spans for c, _coder, _at in sp.codings})
    starts = transcript.paragraph_starts()
    now = timezone.now()
    first: dict[tuple[int, int], ImportedSpan] = {}
    for sp in spans:
        first.setdefault((sp.start, sp.end), sp)
    have = {(x.start, x.end): x for x in Excerpt.objects.filter(transcript=transcript)}
    Excerpt.objects.bulk_create(
        [
            Excerpt(
                transcript=transcript,
                start=s,
                end=e,
                **Excerpt.span_fields(transcript, s, e, starts),
                created_by=sp.created_by,
                created_at=sp.created_at or now,
            )
            for (s, e), sp in first.items()
            if (s, e) not in have
        ],
        batch_size=1000,
    )
    by_span = {(x.start, x.end): x for x in Excerpt.objects.filter(transcript=transcript)}
    done = set(
        Coding.objects.filter(content_object__transcript=transcript).values_list(
            "content_object_id", "tag_id", "coder_id"
        )
    )
    new = []
    for sp in spans:
        x = by_span[(sp.start, sp.end)]
        for code, coder, at in sp.codings:
            key = (x.pk, code.pk, coder.pk)
            if key in done:
                continue
            done.add(key)
            new.append(
                Coding(
                    tag=code,
                    content_object=x,
                    coder=coder,
                    source=CodingSource.IMPORT,
                    created_at=at or now,
                )
            )
    _lock_codes_in_use(sorted({c.tag_id for c in new}))
    Coding.objects.bulk_create(new, batch_size=1000)
    if new:
        audit(
            project_id=transcript.case.project_id,
            actor=actor,
            action=AuditAction.CODING_ADD,
            transcript_id=transcript.pk,
            source=CodingSource.IMPORT,
            codings=len(new),
            excerpts=len(first),
        )
    return by_span


def _lock_codes_in_use(code_ids: list[int]) -> None:
    """Hold the codes about to be applied against a concurrent merge or delete.

    code_merge and code_delete lock a code's row FOR UPDATE; FOR KEY SHARE waits for them (and
    lets other coders through), so a coding is never inserted for a code that is being merged
    away. The foreign key alone cannot stop that: Django's foreign keys are checked only at
    commit. SQLite runs one write at a time and needs no lock.
    """
    if not code_ids:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM coding_code WHERE id = ANY(%s) FOR KEY SHARE", [sorted(code_ids)]
            )
            found = len(cursor.fetchall())
    else:
        found = Code.objects.filter(pk__in=code_ids).count()
    if found != len(set(code_ids)):
        raise ValidationError(
            _("A code was merged or deleted meanwhile. Reload the page and code again."),
            code="code_gone",
        )


@transaction.atomic
def coding_remove(*, coding: Coding, actor) -> None:
    """Remove one coding; an excerpt left without codings and memos goes too."""
    excerpt = coding.content_object
    _lock_excerpts([excerpt.pk])
    audit(
        project_id=coding.tag.codebook.project_id,
        actor=actor,
        action=AuditAction.CODING_REMOVE,
        transcript_id=excerpt.transcript_id,
        excerpt=excerpt.pk,
        start=excerpt.start,
        end=excerpt.end,
        code=coding.tag.name,
        code_id=coding.tag_id,
        coder=coding.coder_id,
        source=coding.source,
    )
    coding.delete()
    if not excerpt.codings.exists() and not excerpt.memos.exists():
        excerpt.delete()


def _lock_excerpts(ids: Iterable[int]) -> set[int]:
    """Lock these excerpts' rows until commit (FOR UPDATE on PostgreSQL; SQLite writes one at a
    time anyway) and return the ids that still exist.

    Who adds a coding and who drops an excerpt left bare both lock it first, so a coding added
    while the last one is removed never points at a deleted excerpt (foreign keys are checked
    only at commit). Locks are taken in id order, so two writers never wait on each other.
    """
    return set(
        Excerpt.objects.select_for_update()
        .filter(pk__in=sorted(set(ids)))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# --- jobs -----------------------------------------------------------------------------------


def job_enqueue(job: Job) -> None:
    """Hand a queued job to the runner once the surrounding transaction commits."""
    from coding import tasks

    tasks.assert_may_start_jobs(job.kind)
    runner = settings.JOB_RUNNER
    if runner == "eager":
        tasks.run_job(str(job.pk))
    elif runner == "celery":
        transaction.on_commit(lambda: tasks.run_job_task.delay(str(job.pk)))
    else:
        transaction.on_commit(lambda: tasks.run_in_thread(str(job.pk)))


# --- import ---------------------------------------------------------------------------------


IMPORT_PARSE = "parse"  # Job.params["stage"] of an import whose file is being read


@transaction.atomic
def import_prepare(
    *,
    project: Project,
    case: Case,
    user,
    upload=None,
    pasted: str = "",
    title: str = "",
    enqueue: bool = True,
) -> Job:
    """Keep an upload (or pasted text) on an import job that reads it in the background.

    Nothing is parsed in the request: the job reads the file once (``run_import_parse``),
    keeps what it found on the job and waits as a draft for the researcher's preview.
    ``enqueue=False`` leaves the queued job to the caller (the demo loader runs it itself).
    """
    if upload is not None:
        name = upload.name or "upload"
        if (upload.size or 0) > settings.UPLOAD_MAX_BYTES:
            limit_mb = settings.UPLOAD_MAX_BYTES // (1024 * 1024)
            raise importers._fail(
                name, _("the file is larger than %(mb)s MB.") % {"mb": limit_mb}, "too_big"
            )
        content = upload
        fmt = "file"
    else:
        name = title or _("pasted text")
        if not (pasted or "").strip():
            raise importers._fail(name, _("the text is empty."), "empty")
        content = ContentFile(pasted.encode("utf-8"), name="pasted.txt")
        fmt = "paste"
    job = Job(
        project=project,
        kind=JobKind.IMPORT,
        status=JobStatus.QUEUED,
        created_by=user,
        input_name=name,
        params={"case_id": case.pk, "format": fmt, "stage": IMPORT_PARSE, "title": title},
    )
    job.input_file.save(content.name or "upload", content, save=False)
    job.save()
    if enqueue:
        job_enqueue(job)
    return job


def import_discard(*, job: Job) -> None:
    """Forget an import whose file was refused before it became a draft."""
    if job.status != JobStatus.FAILED or job.params.get("stage") != IMPORT_PARSE:
        raise ValidationError(_("This import was already started."), code="not_draft")
    for f in (job.input_file, job.result_file):
        if f:
            f.delete(save=False)
    job.delete()


def import_reread(*, job: Job, encoding: str) -> Job:
    """Read a draft import's file again in another encoding (the preview's choice)."""
    if job.status != JobStatus.DRAFT:
        raise ValidationError(_("This import was already started."), code="not_draft")
    if encoding not in importers.TEXT_ENCODINGS:
        raise ValidationError(_("Unknown encoding."), code="encoding")
    with transaction.atomic():
        job.params = {**job.params, "stage": IMPORT_PARSE, "encoding": encoding}
        job.status = JobStatus.QUEUED
        job.progress = 0
        job.save(update_fields=["params", "status", "progress"])
        job_enqueue(job)
    return job


def parse_job_input(job: Job) -> importers.ParsedDocument:
    with job.input_file.open("rb") as fh:
        if job.params.get("format") == "paste":
            return importers.parse_pasted(fh.read().decode("utf-8"), job.input_name)
        return importers.read_document(fh, job.input_name, encoding=job.params.get("encoding"))


def run_import_parse(job: Job, progress: Callable[[int], None]) -> str:
    """The import job's first stage: read the file once, keep what the preview needs (and the
    paragraphs the import will store) on the job, and leave it as a draft. A refused file is
    not kept."""
    try:
        doc = parse_job_input(job)
    except ValidationError:
        job.input_file.delete(save=False)
        Job.objects.filter(pk=job.pk).update(input_file="")
        raise
    progress(60)
    found = importers.ParsedPreview.of(doc)
    content = ContentFile(found.to_json().encode("utf-8"), name="parsed.json")
    with transaction.atomic():
        job.claim_final_commit()
        old = job.result_file.name
        job.result_file.save(content.name, content, save=False)
        job.settle(JobStatus.DRAFT, "", result_file=job.result_file.name, progress=100)
    if old:
        job.result_file.storage.delete(old)
    return ""


def import_parsed(job: Job) -> importers.ParsedPreview:
    """What the parse stage found (a draft made before imports were parsed in a job is read
    now)."""
    if job.result_file:
        try:
            with job.result_file.open("rb") as fh:
                return importers.ParsedPreview.from_json(fh.read().decode("utf-8"))
        except (FileNotFoundError, ValueError, KeyError):
            pass
    return importers.ParsedPreview.of(parse_job_input(job))


@transaction.atomic
def import_confirm(*, job: Job, metadata: dict, speakers: dict[str, dict]) -> Job:
    """Fix the metadata and speaker mapping of a draft import and queue it."""
    if job.status != JobStatus.DRAFT:
        raise ValidationError(_("This import was already started."), code="not_draft")
    job.params = {**job.params, "metadata": metadata, "speakers": speakers, "stage": "build"}
    job.status = JobStatus.QUEUED
    job.save(update_fields=["params", "status"])
    job_enqueue(job)
    return job


def run_import(job: Job, progress: Callable[[int], None]) -> Transcript:
    """The import job's second stage: segment what the parse stage read, then save everything
    in one transaction."""
    doc = import_parsed(job).doc
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
        job=job,
    )


def import_done_message(transcript: Transcript) -> str:
    return _("Imported “%(title)s”: %(words)s words.") % {
        "title": transcript.title,
        "words": transcript.word_count,
    }


_TURN_COLUMNS = (
    "transcript_id",
    "index",
    "start",
    "content_start",
    "end",
    "label",
    "is_interviewer",
    "informant_id",
)
_SENTENCE_COLUMNS = ("transcript_id", "turn_id", "index", "start", "end", "lemmas")


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
    job: Job | None = None,
    sentences: list | None = None,
) -> Transcript:
    """Build a transcript with its turns and sentences; nothing is saved unless all of it is.

    ``speakers`` maps each speaker label to {"kind": "interviewer"|"informant"|"none",
    "informant_id": id}. Informant ids must belong to ``case``. With ``job`` (the import job),
    the one transaction that saves also claims the job first (raising ``JobSuperseded`` if it
    was marked failed or re-run meanwhile) and marks it done last: the job's state and the rows
    commit together or not at all. ``sentences``: the result of ``nlp.split_sentences`` over
    these turns, when the caller segmented the text already (the REFI-QDA import does, so its
    progress shows while it runs).
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

    if sentences is None or len(sentences) != len(turn_spans):
        sentences = nlp.split_sentences(
            text, [(t.content_start, t.end) for t in turn_spans], progress=sentence_progress
        )
    flat = [s for sents in sentences for s in sents]
    words = lemma_index.words_of_sentences(
        text, flat, progress=lambda frac: progress(80 + int(frac * 5))
    )
    progress(85)
    # The one write transaction: only inserts of rows computed above, so it holds the
    # database's write lock briefly (every NLP step ran before it).
    with transaction.atomic():
        if job is not None:
            job.claim_final_commit()
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
        # Turns and sentences go in as plain rows (COPY on PostgreSQL): a long interview has
        # thousands, and bulk_create would build and compile every one as a model. Their ids
        # are read back by index (the transcript is new, so every row of it is ours).
        turn_rows = []
        for i, t in enumerate(turn_spans):
            who = speakers.get(t.label, {}) if t.label else {}
            informant = (
                informants[int(who["informant_id"])].pk if who.get("kind") == "informant" else None
            )
            turn_rows.append(
                (
                    transcript.pk,
                    i,
                    t.start,
                    t.content_start,
                    t.end,
                    t.label,
                    who.get("kind") == "interviewer",
                    informant,
                )
            )
        lemma_index.insert_rows(Turn._meta.db_table, _TURN_COLUMNS, turn_rows)
        turn_ids = list(
            Turn.objects.filter(transcript=transcript)
            .order_by("index")
            .values_list("pk", flat=True)
        )
        turn_of = [tid for tid, sents in zip(turn_ids, sentences, strict=True) for _s in sents]
        lemma_index.insert_rows(
            Sentence._meta.db_table,
            _SENTENCE_COLUMNS,
            [
                (transcript.pk, turn_id, n, s.start, s.end, s.lemmas)
                for n, (turn_id, s) in enumerate(zip(turn_of, flat, strict=True))
            ],
        )
        sentence_ids = list(
            Sentence.objects.filter(transcript=transcript)
            .order_by("index")
            .values_list("pk", flat=True)
        )
        lemma_index.index_new_transcript(transcript, sentence_ids, words)
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
        progress(90)
        if job is not None:
            parsed = job.result_file.name
            job.settle(
                JobStatus.DONE,
                import_done_message(transcript),
                transcript=transcript,
                result_file="",  # the parse stage's notes; the result is the transcript
            )
            if parsed:
                storage = job.result_file.storage
                transaction.on_commit(lambda: storage.delete(parsed))
    lemma_index.after_import(transcript)
    return transcript


# --- REFI-QDA exchange (coding.exchange) -----------------------------------------------------


@transaction.atomic
def exchange_import_prepare(*, project: Project, user, upload) -> tuple[Job, object]:
    """Check a .qdpx/.qdc upload and keep it on a draft Job for the preview page."""
    from coding.exchange import read_exchange

    name = upload.name or "upload.qdpx"
    plan = read_exchange(upload, name)
    upload.seek(0)
    job = Job(
        project=project,
        kind=JobKind.EXCHANGE_IMPORT,
        status=JobStatus.DRAFT,
        created_by=user,
        input_name=name,
        params={"kind": plan.kind},
    )
    job.input_file.save(name, ContentFile(upload.read(), name=name), save=False)
    job.save()
    return job, plan


@transaction.atomic
def exchange_import_confirm(
    *,
    job: Job,
    new_project_name: str,
    merge_codes: bool,
    user_map: dict[str, dict],
    speakers: dict[str, dict[str, dict]] | None = None,
) -> Job:
    """Fix the target, the code rule and the user mapping of a draft import and queue it.
    An empty ``new_project_name`` imports into the job's project."""
    if job.status != JobStatus.DRAFT:
        raise ValidationError(_("This import was already started."), code="not_draft")
    members = set(job.project.memberships.values_list("user_id", flat=True))
    for choice in user_map.values():
        if choice.get("mode") == "existing" and int(choice["user_id"]) not in members:
            raise ValidationError(_("Map users to members of this project only."), code="map")
    job.params = {
        **job.params,
        "new_project_name": new_project_name.strip()[:200],
        "merge_codes": merge_codes,
        "user_map": user_map,
        "speakers": speakers or {},
    }
    job.status = JobStatus.QUEUED
    job.save(update_fields=["params", "status"])
    job_enqueue(job)
    return job


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
    if "\x00" in text or "\x00" in title:
        # Every path, JSON ones included: PostgreSQL refuses NUL in text, SQLite would keep it.
        raise ValidationError(_("Null characters are not allowed."), code="null_characters")
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


# --- codebook -------------------------------------------------------------------------------

CODE_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
CODE_NAME_MAX = 100


# Distinct highlight colours that keep dark text readable; new codes take the first unused one.
CODE_PALETTE = (
    "#f4d03f",
    "#85c1e9",
    "#f1948a",
    "#82e0aa",
    "#d7bde2",
    "#f8c471",
    "#76d7c4",
    "#f5b7b1",
    "#aed6f1",
    "#c39bd3",
    "#a9dfbf",
    "#fad7a0",
)


def next_code_color(codebook_id: int | None) -> str:
    """The first palette colour no code of the codebook uses yet (cycling when all are used)."""
    used = (
        Counter(
            c.lower()
            for c in Code.objects.filter(codebook_id=codebook_id).values_list("color", flat=True)
        )
        if codebook_id
        else Counter()
    )
    return min(CODE_PALETTE, key=lambda c: (used[c], CODE_PALETTE.index(c)))


def _lock_codebook(codebook_id: int) -> None:
    """Serialise changes to one codebook's tree (a no-op on SQLite, whose writes are serial)."""
    list(Codebook.objects.select_for_update().filter(pk=codebook_id).values_list("pk"))


def _clean_keywords(raw: str) -> str:
    """One keyword or phrase per line: trimmed, blank lines and repeats dropped."""
    seen: set[str] = set()
    out = []
    for line in (raw or "").splitlines():
        kw = " ".join(line.split())
        if kw and kw.casefold() not in seen:
            seen.add(kw.casefold())
            out.append(kw)
    return "\n".join(out)


def _code_clean(*, codebook_id: int, pk: int | None, fields: dict[str, str]) -> dict[str, str]:
    """Normalise and check code fields; raise one ValidationError keyed by field name."""
    errors: dict[str, ValidationError] = {}
    out = dict(fields)
    if "name" in out:
        name = " ".join((out["name"] or "").split())
        out["name"] = name
        if not name:
            errors["name"] = ValidationError(_("A code needs a name."), code="code_name_empty")
        elif len(name) > CODE_NAME_MAX:
            errors["name"] = ValidationError(
                _("A code name may hold at most %(n)s characters."),
                code="code_name_long",
                params={"n": CODE_NAME_MAX},
            )
        else:
            clash = (
                Code.objects.filter(codebook_id=codebook_id, name_key=name_key(name))
                .exclude(pk=pk)
                .first()
            )
            if clash is not None:
                errors["name"] = ValidationError(
                    _("The codebook already has a code called “%(name)s”."),
                    code="code_name_taken",
                    params={"name": clash.name},
                )
    if "color" in out:
        color = (out["color"] or "").strip().lower()
        out["color"] = color
        if not CODE_COLOR_RE.match(color):
            errors["color"] = ValidationError(
                _("Choose a colour as #rrggbb."), code="code_color_invalid"
            )
    if "shortcut" in out:
        key = (out["shortcut"] or "").strip().lower()
        out["shortcut"] = key
        if key and (len(key) != 1 or not key.isalnum()):
            errors["shortcut"] = ValidationError(
                _("A shortcut is one letter or digit."), code="code_shortcut_invalid"
            )
        elif key:
            clash = (
                Code.objects.filter(codebook_id=codebook_id, shortcut=key).exclude(pk=pk).first()
            )
            if clash is not None:
                errors["shortcut"] = ValidationError(
                    _("The shortcut “%(key)s” is already used by “%(code)s”."),
                    code="code_shortcut_taken",
                    params={"key": key, "code": clash.name},
                )
    if "short_name" in out:
        out["short_name"] = " ".join((out["short_name"] or "").split())
        if len(out["short_name"]) > 30:
            errors["short_name"] = ValidationError(
                _("A short name may hold at most %(n)s characters."),
                code="code_short_name_long",
                params={"n": 30},
            )
    if "keywords" in out:
        out["keywords"] = _clean_keywords(out["keywords"])
    for field in ("definition", "inclusion", "exclusion", "example"):
        if field in out:
            out[field] = (out[field] or "").strip()
    if errors:
        raise ValidationError(errors)
    return out


def _save_code(code: Code, update_fields: list[str] | None = None) -> None:
    """Save, turning a lost race on a unique constraint into the same error a form shows."""
    try:
        with transaction.atomic():
            code.save(update_fields=update_fields)
    except IntegrityError as exc:
        raise ValidationError(
            _("Another code took this name or shortcut a moment ago. Choose another."),
            code="code_taken",
        ) from exc


@transaction.atomic
def code_create(
    *,
    codebook: Codebook,
    actor,
    name: str,
    color: str = "",
    parent: Code | None = None,
    short_name: str = "",
    shortcut: str = "",
    definition: str = "",
    inclusion: str = "",
    exclusion: str = "",
    example: str = "",
    keywords: str = "",
) -> Code:
    """Add a code at the end of ``parent``'s children (or of the top level).

    Without ``color`` the code takes the next unused palette colour.
    """
    _lock_codebook(codebook.pk)
    color = color or next_code_color(codebook.pk)
    if parent is not None and parent.codebook_id != codebook.pk:
        raise ValidationError(
            _("The parent code belongs to another codebook."), code="foreign_code"
        )
    fields = _code_clean(
        codebook_id=codebook.pk,
        pk=None,
        fields={
            "name": name,
            "color": color,
            "short_name": short_name,
            "shortcut": shortcut,
            "definition": definition,
            "inclusion": inclusion,
            "exclusion": exclusion,
            "example": example,
            "keywords": keywords,
        },
    )
    last = Code.objects.filter(codebook=codebook, parent=parent).aggregate(m=Max("order"))["m"]
    code = Code(codebook=codebook, parent=parent, order=0 if last is None else last + 1, **fields)
    _save_code(code)
    audit(
        project_id=codebook.project_id,
        actor=actor,
        action=AuditAction.CODE_CREATE,
        code=code.pk,
        name=code.name,
        parent=parent.name if parent else None,
    )
    return code


@transaction.atomic
def code_update(
    *,
    code: Code,
    actor,
    name: str | None = None,
    color: str | None = None,
    short_name: str | None = None,
    shortcut: str | None = None,
    definition: str | None = None,
    inclusion: str | None = None,
    exclusion: str | None = None,
    example: str | None = None,
    keywords: str | None = None,
) -> Code:
    """Change the given fields of ``code`` (None leaves a field as it is)."""
    given = {
        "name": name,
        "color": color,
        "short_name": short_name,
        "shortcut": shortcut,
        "definition": definition,
        "inclusion": inclusion,
        "exclusion": exclusion,
        "example": example,
        "keywords": keywords,
    }
    fields = _code_clean(
        codebook_id=code.codebook_id,
        pk=code.pk,
        fields={k: v for k, v in given.items() if v is not None},
    )
    changed = [k for k, v in fields.items() if getattr(code, k) != v]
    if not changed:
        return code
    old_name = code.name
    for k in changed:
        setattr(code, k, fields[k])
    _save_code(code, update_fields=changed)
    details: dict = {"code": code.pk, "name": code.name, "fields": changed}
    if "name" in changed:
        details["old_name"] = old_name
    audit(
        project_id=code.codebook.project_id,
        actor=actor,
        action=AuditAction.CODE_UPDATE,
        **details,
    )
    return code


@transaction.atomic
def code_move(*, code: Code, actor, parent: Code | None, position: int | None = None) -> Code:
    """Put ``code`` under ``parent`` (None: top level) at ``position`` among its new siblings.

    ``position`` counts from 0; None or past the end means last. Sub-codes travel with their code.
    A code cannot go under itself or under one of its own sub-codes.
    """
    _lock_codebook(code.codebook_id)
    code.refresh_from_db(fields=["parent", "order"])
    if parent is not None:
        if parent.codebook_id != code.codebook_id:
            raise ValidationError(
                _("The parent code belongs to another codebook."), code="foreign_code"
            )
        if parent.pk == code.pk or parent.pk in code.descendant_ids():
            raise ValidationError(
                _("“%(code)s” cannot go under “%(parent)s”, which lies inside it."),
                code="code_cycle",
                params={"code": code.name, "parent": parent.name},
            )
    old_parent_id = code.parent_id
    siblings = list(
        Code.objects.filter(codebook_id=code.codebook_id, parent=parent)
        .exclude(pk=code.pk)
        .order_by("order", "name")
    )
    before = [c.pk for c in Code.objects.filter(codebook_id=code.codebook_id, parent=parent)]
    pos = len(siblings) if position is None else max(0, min(int(position), len(siblings)))
    siblings.insert(pos, code)
    code.parent = parent
    changed = []
    for i, c in enumerate(siblings):
        if c.order != i or c is code:
            c.order = i
            changed.append(c)
    moved = old_parent_id != code.parent_id or before != [c.pk for c in siblings]
    Code.objects.bulk_update(changed, ["order", "parent"])
    if moved:
        audit(
            project_id=code.codebook.project_id,
            actor=actor,
            action=AuditAction.CODE_UPDATE,
            code=code.pk,
            name=code.name,
            fields=["parent", "order"],
            parent=parent.name if parent else None,
            position=pos,
        )
    return code


@dataclass(frozen=True)
class CodeMergeResult:
    moved: int  # codings that now carry the target code
    collapsed: int  # codings dropped because the coder had the target on that excerpt already
    memos: int  # memos on the source code, now on the target
    children: int  # sub-codes of the source, now under the target


MERGE_ATTEMPTS = 3


def _merge_codings(source: Code, target: Code) -> tuple[int, int]:
    """Drop the source codings the target already has (same excerpt and coder), move the rest."""
    duplicates = Coding.objects.filter(tag=source).filter(
        Exists(
            Coding.objects.filter(
                tag=target, content_object=OuterRef("content_object"), coder=OuterRef("coder")
            )
        )
    )
    collapsed = duplicates.delete()[1].get(Coding._meta.label, 0)
    moved = Coding.objects.filter(tag=source).update(tag=target)
    return collapsed, moved


@transaction.atomic
def code_merge(*, source: Code, target: Code, actor) -> CodeMergeResult:
    """Merge ``source`` into ``target`` and delete ``source``.

    Its codings move to ``target``; where the same coder already applied ``target`` to the same
    excerpt the source coding collapses into it. Memos, sub-codes and keywords move too.

    Concurrency (row locks where the database has them; SQLite runs writers one at a time): the
    codebook row, both code rows and their codings are locked, so merges, moves and deletes in
    the codebook run one after the other and a second merge of the same source finds it gone.
    excerpt_code takes FOR KEY SHARE on the codes it applies (_lock_codes_in_use): a coding of
    ``source`` in flight makes us wait and is then moved with the rest; one that starts after we
    hold the lock waits for us and is refused (the foreign key, checked at commit, would refuse
    it too), so nothing points at the deleted code and no coding is silently dropped. A coding of
    ``target`` that another transaction adds meanwhile may make our move hit the unique
    constraint; the move then runs again in a savepoint and collapses into it.
    """
    if source.pk == target.pk:
        raise ValidationError(_("A code cannot be merged into itself."), code="merge_self")
    if source.codebook_id != target.codebook_id:
        raise ValidationError(
            _("The target code belongs to another codebook."), code="foreign_code"
        )
    _lock_codebook(source.codebook_id)
    # FOR UPDATE on the source: a coding of it that commits from now on waits and then fails on
    # its foreign key. FOR NO KEY UPDATE on the target: codings of it still commit (their key
    # check takes KEY SHARE), so we never wait on a coder who waits on us.
    locked_source = Code.objects.select_for_update().filter(pk=source.pk).first()
    locked_target = Code.objects.select_for_update(no_key=True).filter(pk=target.pk).first()
    if locked_source is None or locked_target is None:
        raise ValidationError(
            _("One of the codes was deleted meanwhile. Reload the page."), code="code_gone"
        )
    source, target = locked_source, locked_target
    # Lock the codings as well, so the counts we record are the changes we make.
    list(
        Coding.objects.select_for_update()
        .filter(tag_id__in=[source.pk, target.pk])
        .values_list("pk", flat=True)
    )
    collapsed = moved = 0
    for attempt in range(MERGE_ATTEMPTS):
        try:
            with transaction.atomic():
                collapsed, moved = _merge_codings(source, target)
            break
        except IntegrityError as exc:
            # Someone committed the target on an excerpt we are moving onto: look again.
            log.info("code_merge %s -> %s: retry %s after %s", source.pk, target.pk, attempt, exc)
    else:
        raise ValidationError(
            _("Others are coding with these codes right now. Try the merge again."),
            code="merge_busy",
        )
    memos = Memo.objects.filter(code=source).update(code=target)
    if target.pk in source.descendant_ids():
        # The target sits inside the source: lift it to the source's place first, so that the
        # source's sub-codes can go under it without a cycle.
        target.parent_id = source.parent_id
        target.order = source.order
        target.save(update_fields=["parent", "order"])
    children = list(Code.objects.filter(parent=source).order_by("order", "name"))
    last = Code.objects.filter(parent=target).aggregate(m=Max("order"))["m"]
    base = 0 if last is None else last + 1
    for i, child in enumerate(children):
        child.parent_id = target.pk
        child.order = base + i
    Code.objects.bulk_update(children, ["parent", "order"])
    keywords = _clean_keywords(f"{target.keywords}\n{source.keywords}")
    if keywords != target.keywords:
        target.keywords = keywords
        target.save(update_fields=["keywords"])
    source_name = source.name
    source.delete()
    result = CodeMergeResult(moved=moved, collapsed=collapsed, memos=memos, children=len(children))
    audit(
        project_id=target.codebook.project_id,
        actor=actor,
        action=AuditAction.CODE_MERGE,
        source=source_name,
        target=target.name,
        code=target.pk,
        moved=moved,
        collapsed=collapsed,
        memos=memos,
        children=len(children),
    )
    return result


@transaction.atomic
def code_delete(*, code: Code, actor) -> dict[str, int]:
    """Delete ``code`` with its sub-codes, their codings and memos.

    Excerpts left with no codings and no memos go too (as in coding_remove). Returns the counts
    that ``Code.delete_impact`` promised.
    """
    _lock_codebook(code.codebook_id)
    ids = {code.pk, *code.descendant_ids()}
    list(Code.objects.select_for_update().filter(pk__in=ids).values_list("pk"))
    impact = code.delete_impact()
    doomed = (
        Excerpt.objects.filter(
            Exists(Coding.objects.filter(content_object=OuterRef("pk"), tag_id__in=ids))
        )
        .exclude(
            Exists(Coding.objects.filter(content_object=OuterRef("pk")).exclude(tag_id__in=ids))
        )
        .exclude(Exists(Memo.objects.filter(excerpt=OuterRef("pk"))))
    )
    excerpts = doomed.delete()[1].get(Excerpt._meta.label, 0)
    name = code.name
    project_id = code.codebook.project_id
    Code.objects.filter(pk__in=ids).delete()
    audit(
        project_id=project_id,
        actor=actor,
        action=AuditAction.CODE_DELETE,
        code=code.pk,
        name=name,
        codings=impact["codings"],
        subcodes=impact["subcodes"],
        memos=impact["memos"],
        excerpts=excerpts,
    )
    return {**impact, "excerpts": excerpts}


# --- members --------------------------------------------------------------------------------


def _lock_owners(project_id: int) -> list[int]:
    """Lock the project's owner memberships so two changes cannot both remove the last owner."""
    return list(
        Membership.objects.select_for_update()
        .filter(project_id=project_id, role=Role.OWNER)
        .values_list("pk", flat=True)
    )


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise ValidationError(_("Choose a role."), code="role_invalid")


@transaction.atomic
def member_add(*, project: Project, actor, user, role: str) -> Membership:
    """Give ``user`` a role in ``project``."""
    _check_role(role)
    if not user.is_active:
        raise ValidationError(_("This account is disabled."), code="user_inactive")
    membership, created = Membership.objects.get_or_create(
        project=project, user=user, defaults={"role": role}
    )
    if not created:
        raise ValidationError(
            _("%(user)s is already a member of this project."),
            code="member_exists",
            params={"user": user.get_username()},
        )
    audit(
        project_id=project.pk,
        actor=actor,
        action=AuditAction.MEMBER_CHANGE,
        change="add",
        member=user.get_username(),
        member_id=user.pk,
        role=role,
    )
    return membership


@transaction.atomic
def member_invite(
    *, project: Project, actor, username: str, email: str = "", full_name: str = "", role: str
) -> Membership:
    """Create an account without a password for a new colleague and add it to ``project``.

    The invitee chooses a password through a one-time link (Django's password reset token,
    valid for PASSWORD_RESET_TIMEOUT); the view shows that link to the owner to pass on.
    """
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    username = (username or "").strip()
    field = user_model._meta.get_field(user_model.USERNAME_FIELD)
    try:
        username = field.clean(username, None)
    except ValidationError as exc:
        raise ValidationError(
            _("Choose a user name of letters, digits and @/./+/-/_ only."),
            code="username_invalid",
        ) from exc
    if user_model.objects.filter(**{f"{user_model.USERNAME_FIELD}__iexact": username}).exists():
        raise ValidationError(
            _("The user name %(user)s is taken; add the existing account instead."),
            code="username_taken",
            params={"user": username},
        )
    first, _sep, last = (full_name or "").strip().partition(" ")
    user = user_model(username=username, email=(email or "").strip(), first_name=first[:150])
    user.last_name = last.strip()[:150]
    user.set_unusable_password()
    user.save()
    return member_add(project=project, actor=actor, user=user, role=role)


@transaction.atomic
def member_set_role(*, membership: Membership, actor, role: str) -> Membership:
    """Change a member's role; the project always keeps at least one owner."""
    _check_role(role)
    owners = _lock_owners(membership.project_id)
    membership.refresh_from_db(fields=["role"])
    if membership.role == role:
        return membership
    if membership.role == Role.OWNER and owners == [membership.pk]:
        raise ValidationError(
            _("A project needs an owner: make someone else owner first."), code="last_owner"
        )
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit(
        project_id=membership.project_id,
        actor=actor,
        action=AuditAction.MEMBER_CHANGE,
        change="role",
        member=membership.user.get_username(),
        member_id=membership.user_id,
        role=role,
        old_role=old,
    )
    return membership


@transaction.atomic
def member_remove(*, membership: Membership, actor) -> int:
    """Take a member out of the project. Their codings and memos stay, attributed to them.

    Returns how many codings they leave behind. The last owner cannot be removed.
    """
    owners = _lock_owners(membership.project_id)
    membership.refresh_from_db(fields=["role"])
    if membership.role == Role.OWNER and owners == [membership.pk]:
        raise ValidationError(
            _("A project needs an owner: make someone else owner first."), code="last_owner"
        )
    codings = Coding.objects.filter(
        coder_id=membership.user_id, tag__codebook__project_id=membership.project_id
    ).count()
    membership.delete()
    audit(
        project_id=membership.project_id,
        actor=actor,
        action=AuditAction.MEMBER_CHANGE,
        change="remove",
        member=membership.user.get_username(),
        member_id=membership.user_id,
        role=membership.role,
        codings_kept=codings,
    )
    return codings


# --- cases, informants and their attributes ----------------------------------------------------


def _set_attribute_values(*, owner_field: str, owner, values: dict[int, object]) -> None:
    """Store typed values for one case or informant; None/"" removes the value."""
    from coding.models import AttributeDefinition, AttributeValue

    definitions = {d.pk: d for d in AttributeDefinition.objects.filter(pk__in=values.keys())}
    for def_id, value in values.items():
        d = definitions[def_id]
        lookup = {"definition": d, owner_field: owner}
        if value in (None, ""):
            AttributeValue.objects.filter(**lookup).delete()
            continue
        AttributeValue.objects.update_or_create(**lookup, defaults={f"value_{d.kind}": value})


@transaction.atomic
def case_save(*, project: Project, form, actor) -> Case:
    """Save a CaseForm (fields, tags and typed attribute values) for ``project``."""
    case = form.save(commit=False)
    case.project = project
    case.save()
    case.tags.set(form.tag_list())
    _set_attribute_values(owner_field="case", owner=case, values=form.attribute_values())
    return case


@transaction.atomic
def informant_save(*, case: Case, form, actor) -> Informant:
    informant = form.save(commit=False)
    informant.case = case
    informant.save()
    _set_attribute_values(owner_field="informant", owner=informant, values=form.attribute_values())
    return informant


# --- framework matrix -----------------------------------------------------------------------


@transaction.atomic
def framework_summary_save(
    *,
    project: Project,
    case: Case | None,
    code: Code | None,
    author,
    text: str,
    base_version: int,
) -> FrameworkSummary:
    """Save the summary of what ``case`` shows for ``code``; every saved text is kept.

    With ``code`` None it is the case summary, with ``case`` None the cross-case synthesis of
    the code (a column of the matrix); the same revisions and conflict rule hold for all three.
    ``base_version`` is the version the author started from (0 for a cell without a summary):
    when someone saved the cell since, nothing is written and a ValidationError with code
    "stale" asks the author to merge their text with the newer one.
    """
    if case is None and code is None:
        raise ValueError("a framework summary needs a case, a code or both")
    if (case is not None and case.project_id != project.pk) or (
        code is not None and code.codebook.project_id != project.pk
    ):
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


# --- memo types -----------------------------------------------------------------------------

MEMO_TYPE_MAX = 30


@transaction.atomic
def memo_types_set(*, project: Project, names: Iterable[str]) -> list[MemoType]:
    """Make the project's memo types the list ``names`` (in that order). A type kept by name
    keeps its memos; a type left out is deleted and its memos lose their label."""
    wanted: list[str] = []
    for raw in names:
        name = " ".join(raw.split())[:60]
        if name and name.casefold() not in {w.casefold() for w in wanted}:
            wanted.append(name)
    if len(wanted) > MEMO_TYPE_MAX:
        raise ValidationError(
            _("A project may have at most %(n)s memo types."),
            code="memo_types_many",
            params={"n": MEMO_TYPE_MAX},
        )
    existing = {
        t.name.casefold(): t for t in MemoType.objects.select_for_update().filter(project=project)
    }
    kept: list[MemoType] = []
    for order, name in enumerate(wanted):
        t = existing.pop(name.casefold(), None)
        if t is None:
            t = MemoType.objects.create(project=project, name=name, order=order)
        elif (t.name, t.order) != (name, order):
            t.name, t.order = name, order
            t.save(update_fields=["name", "order"])
        kept.append(t)
    MemoType.objects.filter(pk__in=[t.pk for t in existing.values()]).delete()
    return kept


@transaction.atomic
def memo_link_set(
    *,
    memo: Memo,
    code: Code | None = None,
    case: Case | None = None,
    excerpt: Excerpt | None = None,
    linked: bool = True,
) -> bool:
    """Add (or remove) one "see also" link from ``memo`` to a code, a case or a passage of its
    project. Returns whether the link is there afterwards."""
    targets = [t for t in (code, case, excerpt) if t is not None]
    if len(targets) != 1:
        raise ValueError("a memo link points to exactly one code, case or passage")
    project_id = (
        code.codebook.project_id
        if code is not None
        else case.project_id
        if case is not None
        else excerpt.transcript.case.project_id
    )
    if project_id != memo.project_id:
        raise ValidationError(
            _("A memo links only to codes, cases and passages of its project."),
            code="memo_link_foreign",
        )
    where = {"code": code, "case": case, "excerpt": excerpt}
    where = {k: v for k, v in where.items() if v is not None}
    if linked:
        MemoLink.objects.get_or_create(memo=memo, **where)
        return True
    MemoLink.objects.filter(memo=memo, **where).delete()
    return False


# --- key quotes -----------------------------------------------------------------------------


@transaction.atomic
def key_quote_set(*, excerpt: Excerpt, code: Code, user, marked: bool) -> bool:
    """Mark (or unmark) ``excerpt`` as ``user``'s key quote for ``code``; audited.

    Marking needs the passage to carry the code (by any coder). Returns whether the mark is
    there afterwards; setting the state it already has writes nothing.
    """
    transcript = excerpt.transcript
    project_id = transcript.case.project_id
    if code.codebook.project_id != project_id:
        raise ValidationError(_("The code belongs to another project."), code="key_quote_foreign")
    existing = KeyQuote.objects.filter(excerpt=excerpt, code=code, user=user)
    if marked:
        if existing.exists():
            return True
        if not Coding.objects.filter(content_object=excerpt, tag=code).exists():
            raise ValidationError(
                _("Only a passage coded with this code can be its key quote."),
                code="key_quote_uncoded",
            )
        KeyQuote.objects.create(project_id=project_id, excerpt=excerpt, code=code, user=user)
        action = AuditAction.KEY_QUOTE_ADD
    else:
        if not existing.delete()[0]:
            return False
        action = AuditAction.KEY_QUOTE_REMOVE
    audit(
        project_id=project_id,
        actor=user,
        action=action,
        transcript_id=transcript.pk,
        excerpt=excerpt.pk,
        code=code.pk,
        code_name=code.name,
    )
    return marked


# --- Word export ----------------------------------------------------------------------------


@transaction.atomic
def export_start(*, project: Project, user, params: dict, template: bytes | None = None) -> Job:
    """Queue a Word export of ``project`` (see coding/exports); any member may export.

    ``params`` hold the layout, options, language and selection; ``template`` is a .docx already
    checked by ``coding.exports.template.check_template``. The job reads the codings when it
    runs, so the file shows the coding as it is then.
    """
    job = Job(
        project=project,
        kind=JobKind.EXPORT,
        status=JobStatus.QUEUED,
        created_by=user,
        params=params,
    )
    if template:
        job.input_file.save("template.docx", ContentFile(template), save=False)
    job.save()
    job_enqueue(job)
    return job


# --- the transcript view: resize, in-vivo codes, memo delete, undo ---------------------------


@transaction.atomic
def excerpt_resize(
    *,
    excerpt: Excerpt,
    start: int,
    end: int,
    actor,
    paragraph_starts: list[int] | None = None,
    undo_of: list[int] | None = None,
) -> Excerpt:
    """Move ``actor``'s codings on ``excerpt`` to [start, end); returns the excerpt they are on.

    When all codings on the excerpt are the actor's, the excerpt itself moves with its memos.
    When other coders coded the same passage, only the actor's codings and memos move and the
    others' stay where their coder put them. If an excerpt with the new span exists already, the
    codings join it and duplicates collapse. ``undo_of`` lists the audit events this undoes.
    """
    transcript = excerpt.transcript
    check_span(transcript, start, end)
    if (start, end) == (excerpt.start, excerpt.end):
        return excerpt
    mine = list(excerpt.codings.filter(coder=actor).select_related("tag"))
    if not mine:
        raise ValidationError(
            _("You can change the boundaries only of passages you coded yourself."),
            code="not_coder",
        )
    shared = excerpt.codings.exclude(coder=actor).exists()
    old = [excerpt.start, excerpt.end]
    target = Excerpt.objects.filter(transcript=transcript, start=start, end=end).first()
    if target is None and not shared:
        excerpt.start, excerpt.end = start, end
        fields = Excerpt.span_fields(transcript, start, end, paragraph_starts)
        for name, value in fields.items():
            setattr(excerpt, name, value)
        excerpt.save(update_fields=["start", "end", *fields])
        result = excerpt
    else:
        if target is None:
            target = Excerpt.objects.create(
                transcript=transcript,
                start=start,
                end=end,
                **Excerpt.span_fields(transcript, start, end, paragraph_starts),
                created_by=actor,
            )
        taken = set(target.codings.filter(coder=actor).values_list("tag_id", flat=True))
        Coding.objects.filter(pk__in=[c.pk for c in mine if c.tag_id in taken]).delete()
        Coding.objects.filter(pk__in=[c.pk for c in mine if c.tag_id not in taken]).update(
            content_object=target
        )
        memos = excerpt.memos.filter(author=actor) if shared else excerpt.memos.all()
        memos.update(excerpt=target)
        _lock_excerpts([excerpt.pk])
        if not excerpt.codings.exists() and not excerpt.memos.exists():
            excerpt.delete()
        result = target
    audit(
        project_id=transcript.case.project_id,
        actor=actor,
        action=AuditAction.EXCERPT_RESIZE,
        transcript_id=transcript.pk,
        excerpt=result.pk,
        old=old,
        new=[start, end],
        codes=[c.tag.name for c in mine],
        **({"undo_of": undo_of} if undo_of else {}),
    )
    return result


IN_VIVO_MAX_CHARS = 60


def in_vivo_name(words: str) -> str:
    """A code name from selected words: one line, trimmed of quotes and end punctuation, and cut
    at a word boundary to IN_VIVO_MAX_CHARS characters."""
    name = " ".join(words.split()).strip(" \"'«»“”‘’.,;:!?…-–—()[]")
    if len(name) > IN_VIVO_MAX_CHARS:
        cut = name[: IN_VIVO_MAX_CHARS + 1].rsplit(" ", 1)[0] or name[:IN_VIVO_MAX_CHARS]
        name = cut.rstrip(" ,;:-–—") + "…"
    return name


@transaction.atomic
def excerpt_code_in_vivo(
    *, transcript: Transcript, start: int, end: int, coder
) -> tuple[Excerpt, list[Coding], Code, bool]:
    """Code [start, end) with a code named from its own words, made in the transcript's codebook
    (or the existing code of that name). Returns the excerpt, new codings, the code and whether
    the code is new."""
    check_span(transcript, start, end)
    name = in_vivo_name(transcript.text[start:end])
    if not name:
        raise ValidationError(
            _("The passage has no words to name a code after."), code="in_vivo_empty"
        )
    codebook = transcript.case.project.codebooks.get()
    code = Code.objects.filter(codebook=codebook, name_key=name_key(name)).first()
    created = code is None
    if created:
        code = code_create(codebook=codebook, actor=coder, name=name)
    excerpt, new = excerpt_code(
        transcript=transcript, start=start, end=end, codes=[code], coder=coder, in_vivo=created
    )
    return excerpt, new, code, created


@transaction.atomic
def memo_delete(*, memo: Memo, actor) -> None:
    """Delete a memo (the caller checked that ``actor`` may)."""
    transcript_id = memo.excerpt.transcript_id if memo.excerpt_id else memo.transcript_id
    audit(
        project_id=memo.project_id,
        actor=actor,
        action=AuditAction.MEMO_DELETE,
        transcript_id=transcript_id,
        memo=memo.pk,
        excerpt=memo.excerpt_id,
    )
    memo.delete()


UNDOABLE_ACTIONS = (AuditAction.CODING_ADD, AuditAction.CODING_REMOVE, AuditAction.EXCERPT_RESIZE)
# How far back undo looks through a coder's actions in one transcript.
UNDO_DEPTH = 200


def undoable_event(*, transcript: Transcript, actor) -> AuditEvent | None:
    """The actor's latest coding action in ``transcript`` that is not undone yet, or None.

    Undo is recorded as the inverse action whose details carry ``undo_of``; walking the events
    newest first meets every undo before the events it undid. Imported codings are not undoable.
    """
    events = AuditEvent.objects.filter(
        transcript=transcript, actor=actor, action__in=UNDOABLE_ACTIONS
    ).order_by("-created_at", "-id")
    undone: set[int] = set()
    # In pages: the answer is nearly always the newest event, read on every coding save.
    page = 20
    for offset in range(0, UNDO_DEPTH, page):
        batch = list(events[offset : offset + page])
        for ev in batch:
            if _undoable(ev, undone):
                return ev
        if len(batch) < page:
            break
    return None


def _undoable(ev: AuditEvent, undone: set[int]) -> bool:
    """Whether ``ev`` is what undo undoes next; collects undone event ids on the way."""
    d = ev.details
    if "undo_of" in d:
        undone.update(d["undo_of"])
        return False
    if ev.pk in undone or d.get("source") == CodingSource.IMPORT:
        return False
    needs = {
        AuditAction.CODING_ADD: "code_ids",
        AuditAction.CODING_REMOVE: "code_id",
        AuditAction.EXCERPT_RESIZE: "old",
    }
    return needs.get(ev.action, "-") in d


@dataclass
class UndoResult:
    event: AuditEvent
    excerpt_ids: set[int]
    deleted_code_ids: set[int]


@transaction.atomic
def coding_undo(*, transcript: Transcript, actor) -> UndoResult | None:
    """Undo the actor's last coding action in ``transcript`` (apply, remove, or resize).

    Returns what was undone and the excerpts it touched (some may be gone), or None when there
    is nothing left to undo.
    """
    ev = undoable_event(transcript=transcript, actor=actor)
    if ev is None:
        return None
    d = ev.details
    project_id = transcript.case.project_id
    touched: set[int] = set()
    deleted_codes: set[int] = set()
    if ev.action == AuditAction.CODING_ADD:
        excerpt = Excerpt.objects.filter(
            transcript=transcript, start=d["start"], end=d["end"]
        ).first()
        removed = []
        if excerpt is not None:
            touched.add(excerpt.pk)
            codings = list(
                Coding.objects.filter(
                    content_object=excerpt, coder=actor, tag_id__in=d["code_ids"]
                ).select_related("tag")
            )
            removed = [c.tag.name for c in codings]
            _lock_excerpts([excerpt.pk])
            Coding.objects.filter(pk__in=[c.pk for c in codings]).delete()
            if not excerpt.codings.exists() and not excerpt.memos.exists():
                excerpt.delete()
        if d.get("in_vivo"):
            unused = Code.objects.filter(
                pk__in=d["code_ids"], codebook__project_id=project_id, codings__isnull=True
            ).filter(children__isnull=True, memos__isnull=True)
            deleted_codes = set(unused.values_list("pk", flat=True))
            Code.objects.filter(pk__in=deleted_codes).delete()
        audit(
            project_id=project_id,
            actor=actor,
            action=AuditAction.CODING_REMOVE,
            transcript_id=transcript.pk,
            excerpt=d.get("excerpt"),
            start=d["start"],
            end=d["end"],
            codes=removed,
            deleted_codes=sorted(deleted_codes),
            undo_of=[ev.pk],
        )
    elif ev.action == AuditAction.CODING_REMOVE:
        from django.contrib.auth import get_user_model

        code = Code.objects.filter(pk=d["code_id"], codebook__project_id=project_id).first()
        coder = get_user_model().objects.filter(pk=d.get("coder")).first()
        if code is None or coder is None:
            raise ValidationError(
                _("The code or its coder was deleted since, so this cannot be undone."),
                code="undo_gone",
            )
        check_span(transcript, d["start"], d["end"])
        excerpt, _created = Excerpt.objects.get_or_create(
            transcript=transcript,
            start=d["start"],
            end=d["end"],
            defaults={
                **Excerpt.span_fields(transcript, d["start"], d["end"]),
                "created_by": coder,
            },
        )
        Coding.objects.get_or_create(
            content_object=excerpt,
            tag=code,
            coder=coder,
            defaults={"source": d.get("source") or CodingSource.MANUAL},
        )
        touched.add(excerpt.pk)
        audit(
            project_id=project_id,
            actor=actor,
            action=AuditAction.CODING_ADD,
            transcript_id=transcript.pk,
            excerpt=excerpt.pk,
            start=d["start"],
            end=d["end"],
            codes=[code.name],
            code_ids=[code.pk],
            undo_of=[ev.pk],
        )
    else:
        (old_s, old_e), (new_s, new_e) = d["old"], d["new"]
        excerpt = Excerpt.objects.filter(transcript=transcript, start=new_s, end=new_e).first()
        if excerpt is None:
            raise ValidationError(
                _("The passage was changed since, so this cannot be undone."), code="undo_gone"
            )
        touched.add(excerpt.pk)
        result = excerpt_resize(
            excerpt=excerpt, start=old_s, end=old_e, actor=actor, undo_of=[ev.pk]
        )
        touched.add(result.pk)
    return UndoResult(event=ev, excerpt_ids=touched, deleted_code_ids=deleted_codes)


# --- search and suggestions (coding.language) ----------------------------------------------


@transaction.atomic
def search_code_apply(
    *,
    project: Project,
    code: Code,
    passages: Iterable[tuple[Transcript, int, int]],
    coder,
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
    _lock_codes_in_use([code.pk])
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
            Coding.objects.filter(content_object__in=excerpts, tag=code, coder=coder).values_list(
                "content_object_id", flat=True
            )
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
                excerpt=x.pk,
                start=x.start,
                end=x.end,
                codes=[code.name],
                code_ids=[code.pk],
                source=CodingSource.SEARCH,
                batch=str(batch),
            )
        made += len(new)
    return batch, made


@transaction.atomic
def coding_batch_undo(*, project: Project, batch: uuid.UUID, actor) -> int:
    """Remove every coding of ``batch``, and the excerpts left without codings or memos.
    Returns the number of codings removed (0 when the batch was already undone)."""
    codings = list(
        Coding.objects.filter(batch=batch, tag__codebook__project=project).select_related(
            "content_object", "tag"
        )
    )
    # Each removal undoes the batch's own "applied" event for that passage, so the coder's undo
    # in the transcript view skips both (it would otherwise re-add what the batch undo removed).
    applied: dict[int, list[int]] = defaultdict(list)
    for pk, excerpt_id in AuditEvent.objects.filter(
        project=project, action=AuditAction.CODING_ADD, details__batch=str(batch)
    ).values_list("pk", "details__excerpt"):
        applied[excerpt_id].append(pk)
    for c in codings:
        audit(
            project_id=project.pk,
            actor=actor,
            action=AuditAction.CODING_REMOVE,
            transcript_id=c.content_object.transcript_id,
            excerpt=c.content_object_id,
            start=c.content_object.start,
            end=c.content_object.end,
            code=c.tag.name,
            code_id=c.tag_id,
            coder=c.coder_id,
            source=c.source,
            batch=str(batch),
            undo_of=applied.get(c.content_object_id, []),
        )
    excerpt_ids = {c.content_object_id for c in codings}
    _lock_excerpts(excerpt_ids)
    Coding.objects.filter(pk__in=[c.pk for c in codings]).delete()
    Excerpt.objects.filter(pk__in=excerpt_ids, codings__isnull=True, memos__isnull=True).delete()
    return len(codings)


@transaction.atomic
def suggestion_accept(*, suggestion: Suggestion, user) -> Coding:
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
def suggestion_reject(*, suggestion: Suggestion, user) -> SuggestionDecision:
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
def code_keywords_add(*, code: Code, actor, keywords: Sequence[str]) -> list[str]:
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
def code_keyword_remove(*, code: Code, actor, keyword: str) -> list[str]:
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
def language_job_start(*, project: Project, user, kind: str, **params) -> Job:
    """Queue a REINDEX, TRAIN or SUGGEST job for ``project`` (one of a kind at a time: a job
    already queued or running is returned instead of a second one)."""
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
