"""The rules every write on excerpts and codings shares, written once: the offset check, the
codebook check, the row locks, dropping an excerpt left bare, and the audit payloads of a coding
added or removed (which undo reads back).

Only the services' modules use these; views go through the services.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.translation import gettext as _

from coding.models import Code, Coding, Excerpt, Transcript


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


def code_check(transcript: Transcript, codes: Iterable[Code]) -> list[Code]:
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


def lock_excerpts(ids: Iterable[int]) -> set[int]:
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


def lock_codes_in_use(code_ids: list[int]) -> None:
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


def drop_bare_excerpts(ids: Iterable[int]) -> int:
    """Delete those of these excerpts that no coding and no memo holds any more (locked first,
    see ``lock_excerpts``); returns how many went. Every path that takes codings or memos off
    an excerpt ends here."""
    ids = lock_excerpts(ids)
    if not ids:
        return 0
    bare = Excerpt.objects.filter(pk__in=ids, codings__isnull=True, memos__isnull=True)
    return bare.delete()[1].get(Excerpt._meta.label, 0)


# What undo reads back from the payloads below (see coding.services.undo._undoable).
ADDED_KEYS = ("excerpt", "start", "end", "codes", "code_ids")
REMOVED_KEYS = ("excerpt", "start", "end", "code", "code_id", "coder", "source")


def coding_added(
    *, excerpt_id: int | None, start: int, end: int, codes: Iterable[Code], **extra: Any
) -> dict[str, Any]:
    """The details of a CODING_ADD event for ``codes`` applied to one passage."""
    codes = list(codes)
    return {
        "excerpt": excerpt_id,
        "start": start,
        "end": end,
        "codes": [c.name for c in codes],
        "code_ids": [c.pk for c in codes],
        **extra,
    }


def coding_removed(*, coding: Coding, excerpt: Excerpt, **extra: Any) -> dict[str, Any]:
    """The details of a CODING_REMOVE event for one coding (enough for undo to make it again)."""
    return {
        "excerpt": excerpt.pk,
        "start": excerpt.start,
        "end": excerpt.end,
        "code": coding.tag.name,
        "code_id": coding.tag_id,
        "coder": coding.coder_id,
        "source": coding.source,
        **({"layer": coding.layer} if coding.layer != "coder" else {}),
        **extra,
    }
