"""Excerpts and codings: applying codes (by hand, in vivo, in bulk from an import), removing,
resizing, key quotes. The rules these share (offset check, locks, payloads) are in ``excerpts``."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coding import access
from coding.language.lemma_index import insert_rows
from coding.models import (
    AuditAction,
    Code,
    Coding,
    CodingLayer,
    CodingSource,
    Excerpt,
    KeyQuote,
    Transcript,
    name_key,
)
from coding.services.audit import audit
from coding.services.codebook import code_create
from coding.services.excerpts import (
    check_span,
    code_check,
    coding_added,
    coding_removed,
    drop_bare_excerpts,
    lock_codes_in_use,
    lock_excerpts,
)


@transaction.atomic
def excerpt_code(
    *,
    transcript: Transcript,
    start: int,
    end: int,
    codes: Iterable[Code],
    coder: User,
    source: str = CodingSource.MANUAL,
    batch: uuid.UUID | None = None,
    paragraph_starts: list[int] | None = None,
    in_vivo: bool = False,
) -> tuple[Excerpt, list[Coding]]:
    """Apply ``codes`` to [start, end) of ``transcript`` as ``coder``.

    Reuses the excerpt with the same span if there is one; a code the coder already applied there
    is not applied twice. Returns the excerpt and the codings created. ``in_vivo`` marks a code
    made for this coding from its words: undoing the coding deletes the code again if unused.
    """
    check_span(transcript, start, end)
    codes = code_check(transcript, codes)
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
        if lock_excerpts([excerpt.pk]):
            break
    else:
        raise ValidationError(
            _("The passage was changed by someone else just now; please try again."),
            code="excerpt_busy",
        )
    existing = set(
        Coding.objects.coder_layer()
        .filter(content_object=excerpt, coder=coder)
        .values_list("tag_id", flat=True)
    )
    new = [
        Coding(tag=c, content_object=excerpt, coder=coder, source=source, batch=batch)
        for c in codes
        if c.pk not in existing
    ]
    lock_codes_in_use([c.tag_id for c in new])
    Coding.objects.bulk_create(new)
    if new:
        audit(
            project_id=transcript.case.project_id,
            actor=coder,
            action=AuditAction.CODING_ADD,
            transcript_id=transcript.pk,
            **coding_added(
                excerpt_id=excerpt.pk,
                start=start,
                end=end,
                codes=[c.tag for c in new],
                source=source,
                **({"in_vivo": True} if in_vivo else {}),
            ),
        )
    return excerpt, new


# The columns excerpts_import writes, in its rows' order.
_EXCERPT_COLUMNS = (
    "transcript_id",
    "start",
    "end",
    "text",
    "paragraph",
    "word_count",
    "created_by_id",
    "created_at",
)
_CODING_COLUMNS = (
    "content_object_id",
    "tag_id",
    "coder_id",
    "created_at",
    "source",
    "layer",
    "batch",
)


@dataclass(frozen=True)
class ImportedSpan:
    """One passage of an imported project: its span, who marked it and when, and its codings
    as (code, coder, created_at)."""

    start: int
    end: int
    created_by: User | None
    created_at: dt.datetime | None
    codings: tuple[tuple[Code, User, dt.datetime | None], ...]


@transaction.atomic
def excerpts_import(
    *, transcript: Transcript, spans: Iterable[ImportedSpan], actor: User | None
) -> dict[tuple[int, int], int]:
    """Store the passages and codings of an imported source in a few statements (REFI-QDA
    import). Returns the excerpts' ids by span.

    The same rules as ``excerpt_code`` (``check_span`` on every span, codes of the transcript's
    codebook only, ``Excerpt.span_fields`` for what a span decides, one excerpt per span and one
    coding per code and coder, the codes held by ``lock_codes_in_use``) but in bulk: the rows go
    in as plain values (``insert_rows``: COPY on PostgreSQL, one prepared statement on SQLite),
    as the transcript's own turns and sentences do, since an imported project has thousands and
    bulk_create would build and compile each one as a model. The codings have source "import"
    and are not undoable; one audit event tells how many came.
    """
    spans = list(spans)
    for sp in spans:
        check_span(transcript, sp.start, sp.end)
    code_check(transcript, {c for sp in spans for c, _coder, _at in sp.codings})
    starts = transcript.paragraph_starts()
    # Cached: an imported file stamps many codings with the same time.
    stamp = functools.cache(connection.ops.adapt_datetimefield_value)
    now = timezone.now()
    first: dict[tuple[int, int], ImportedSpan] = {}
    for sp in spans:
        first.setdefault((sp.start, sp.end), sp)

    def excerpts_by_span() -> dict[tuple[int, int], int]:
        rows = Excerpt.objects.filter(transcript=transcript).values_list("start", "end", "pk")
        return {(s, e): pk for s, e, pk in rows}

    have = excerpts_by_span()
    rows = []
    for (s, e), sp in first.items():
        if (s, e) in have:
            continue
        f = Excerpt.span_fields(transcript, s, e, starts)
        rows.append(
            (
                transcript.pk,
                s,
                e,
                f["text"],
                f["paragraph"],
                f["word_count"],
                sp.created_by.pk if sp.created_by else None,
                stamp(sp.created_at or now),
            )
        )
    insert_rows(Excerpt._meta.db_table, _EXCERPT_COLUMNS, rows)
    by_span = excerpts_by_span() if rows else have
    # Only an excerpt that was there before can hold codings already (none, for a new source).
    done = (
        set(
            Coding.objects.coder_layer()
            .filter(content_object__transcript=transcript)
            .values_list("content_object_id", "tag_id", "coder_id")
        )
        if have
        else set()
    )
    new = []
    for sp in spans:
        x = by_span[(sp.start, sp.end)]
        for code, coder, at in sp.codings:
            key = (x, code.pk, coder.pk)
            if key in done:
                continue
            done.add(key)
            new.append((*key, stamp(at or now), CodingSource.IMPORT, CodingLayer.CODER.value, None))
    lock_codes_in_use(sorted({row[1] for row in new}))
    insert_rows(Coding._meta.db_table, _CODING_COLUMNS, new)
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


@transaction.atomic
def coding_remove(*, coding: Coding, actor: User) -> None:
    """Remove one coding; an excerpt left without codings and memos goes too."""
    excerpt = coding.content_object
    lock_excerpts([excerpt.pk])
    audit(
        project_id=coding.tag.codebook.project_id,
        actor=actor,
        action=AuditAction.CODING_REMOVE,
        transcript_id=excerpt.transcript_id,
        **coding_removed(coding=coding, excerpt=excerpt),
    )
    coding.delete()
    drop_bare_excerpts([excerpt.pk])


@transaction.atomic
def key_quote_set(*, excerpt: Excerpt, code: Code, user: User, marked: bool) -> bool:
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


@transaction.atomic
def excerpt_resize(
    *,
    excerpt: Excerpt,
    start: int,
    end: int,
    actor: User,
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
    mine = access.resized_codings(actor.pk, excerpt.codings.select_related("tag"))
    if not mine:
        raise ValidationError(
            _("You can change the boundaries only of passages you coded yourself."),
            code="not_coder",
        )
    shared = excerpt.codings.exclude(coder=actor, layer=CodingLayer.CODER).exists()
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
        taken = set(
            target.codings.coder_layer().filter(coder=actor).values_list("tag_id", flat=True)
        )
        Coding.objects.filter(pk__in=[c.pk for c in mine if c.tag_id in taken]).delete()
        Coding.objects.filter(pk__in=[c.pk for c in mine if c.tag_id not in taken]).update(
            content_object=target
        )
        memos = excerpt.memos.filter(author=actor) if shared else excerpt.memos.all()
        memos.update(excerpt=target)
        drop_bare_excerpts([excerpt.pk])
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
    *, transcript: Transcript, start: int, end: int, coder: User
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
    if code is None:
        code = code_create(codebook=codebook, actor=coder, name=name)
    excerpt, new = excerpt_code(
        transcript=transcript, start=start, end=end, codes=[code], coder=coder, in_vivo=created
    )
    return excerpt, new, code, created
