"""The transcript import pipeline (upload → parse stage → preview → build), and the REFI-QDA
import's draft and confirmation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.utils.translation import gettext as _

from coding import importers, nlp
from coding.exchange.read import ExchangePlan, read_exchange
from coding.language import lemma_index, suggestions
from coding.models import (
    AuditAction,
    Case,
    Informant,
    Job,
    JobKind,
    JobStatus,
    Project,
    Transcript,
    Turn,
)
from coding.services.audit import audit
from coding.services.jobs import job_enqueue

IMPORT_PARSE = "parse"  # Job.params["stage"] of an import whose file is being read


@transaction.atomic
def import_prepare(
    *,
    project: Project,
    case: Case,
    user: User,
    upload: File[bytes] | None = None,
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
def import_confirm(
    *, job: Job, metadata: dict[str, Any], speakers: dict[str, dict[str, Any]]
) -> Job:
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
    speakers: dict[str, dict[str, Any]] = job.params.get("speakers", {})
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
        header=meta.get("header_lines"),
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


def run_import_job(job: Job, progress: Callable[[int], None]) -> str:
    """The body of an IMPORT job (coding.tasks): the parse stage, or the build stage."""
    if job.params.get("stage") == IMPORT_PARSE:
        return run_import_parse(job, progress)  # ends as a draft, for the preview
    # run_import marks the job done inside its own transaction (see transcript_create).
    transcript = run_import(job, progress)
    job.transcript = transcript
    return import_done_message(transcript)


_TURN_COLUMNS = (
    "transcript_id",
    "index",
    "start",
    "content_start",
    "end",
    "label",
    "is_interviewer",
    "informant_id",
    "is_header",
)


def transcript_create(
    *,
    case: Case,
    doc: importers.ParsedDocument,
    title: str,
    speakers: dict[str, dict[str, Any]],
    user: User | None = None,
    interview_date: str | dt.date | None = None,
    mode: str = "",
    interviewers: str = "",
    informant_ids: Iterable[int] = (),
    tags: Iterable[str] = (),
    original: File[bytes] | None = None,
    original_name: str = "",
    progress: Callable[[int], None] | None = None,
    job: Job | None = None,
    sentences: list[list[nlp.SentenceSpan]] | None = None,
    header: int | None = None,
) -> Transcript:
    """Build a transcript with its turns and sentences; nothing is saved unless all of it is.

    ``speakers`` maps each speaker label to {"kind": "interviewer"|"informant"|"none",
    "informant_id": id}. Informant ids must belong to ``case``. With ``job`` (the import job),
    the one transaction that saves also claims the job first (raising ``JobSuperseded`` if it
    was marked failed or re-run meanwhile) and marks it done last: the job's state and the rows
    commit together or not at all. ``sentences``: the result of ``nlp.split_sentences`` over
    these turns, when the caller segmented the text already (the REFI-QDA import does, so its
    progress shows while it runs). ``header``: how many leading paragraphs are the heading or
    metadata block, not interview text (the preview's choice); None finds them
    (``importers.header_paragraphs``).
    """
    progress = progress or (lambda pct: None)
    labels = {label for label, v in speakers.items() if v.get("kind") != "none"}
    text, turn_spans = importers.build_text_and_turns(doc, labels, header)
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
    index = lemma_index.index_of_sentences(
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
                    t.header,
                )
            )
        lemma_index.insert_rows(Turn._meta.db_table, _TURN_COLUMNS, turn_rows)
        turn_ids = list(
            Turn.objects.filter(transcript=transcript)
            .order_by("index")
            .values_list("pk", flat=True)
        )
        turn_of = [tid for tid, sents in zip(turn_ids, sentences, strict=True) for _s in sents]
        # The sentences carry the word index; the database's full-text engine indexes them.
        lemma_index.write_sentences(transcript, turn_of, flat, index)
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
    suggestions.after_import(transcript)
    return transcript


@transaction.atomic
def exchange_import_prepare(
    *, project: Project, user: User, upload: File[bytes]
) -> tuple[Job, ExchangePlan]:
    """Check a .qdpx/.qdc upload and keep it on a draft Job for the preview page."""
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
def exchange_speakers_save(
    *,
    job: Job,
    label_choices: dict[str, str] | None = None,
    overrides: dict[str, dict[str, str]] | None = None,
) -> Job:
    """Keep the preview's speaker choices on a draft REFI-QDA import, so the per-source page
    and the preview (whose form holds the choice for each label) can be left and come back
    to: ``label_choices`` replace those kept; ``overrides`` (per source GUID, label ->
    choice) replace those of the sources they name."""
    job = Job.objects.select_for_update().get(pk=job.pk)
    if job.status != JobStatus.DRAFT:
        raise ValidationError(_("This import was already started."), code="not_draft")
    kept = dict(job.params.get("speaker_choices") or {})
    if label_choices is not None:
        kept["label_choices"] = label_choices
    if overrides is not None:
        merged = dict(kept.get("overrides") or {})
        for guid, own in overrides.items():
            if own:
                merged[guid] = own
            else:
                merged.pop(guid, None)
        kept["overrides"] = merged
    job.params = {**job.params, "speaker_choices": kept}
    job.save(update_fields=["params"])
    return job


@transaction.atomic
def exchange_import_confirm(
    *,
    job: Job,
    new_project_name: str,
    merge_codes: bool,
    user_map: dict[str, dict[str, Any]],
    speakers: dict[str, dict[str, dict[str, Any]]] | None = None,
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
