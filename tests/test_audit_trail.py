"""Every change to the coding leaves an AuditEvent naming who, when and what (the issue's list:
add, remove, change of boundaries, memo edit, code merge, deletion), written in the same
transaction as the change, so a change that fails leaves no event either."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from coding import importers, services
from coding.models import AuditAction, AuditEvent, Coding, CodingSource


@pytest.fixture
def transcript(case, bob):
    doc = importers.parse_pasted(
        "I: Hvordan samarbeider dere?\nIP: Vi samarbeider tett med NAV om boliger.", "x"
    )
    return services.transcript_create(
        case=case, doc=doc, title="Intervju", speakers={"I": {"kind": "interviewer"}}, user=bob
    )


def last(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).latest("created_at", "id")


def span(transcript, words: str) -> tuple[int, int]:
    start = transcript.text.index(words)
    return start, start + len(words)


def test_each_kind_of_coding_change_is_recorded_with_who_when_and_what(
    transcript, codes, bob, alice
):
    before = timezone.now()
    start, end = span(transcript, "samarbeider tett")
    excerpt, _ = services.excerpt_code(
        transcript=transcript, start=start, end=end, codes=codes[:2], coder=bob
    )
    add = last(AuditAction.CODING_ADD)
    assert (add.actor, add.transcript_id) == (bob, transcript.pk)
    assert add.details["codes"] == [codes[0].name, codes[1].name]
    assert (add.details["start"], add.details["end"]) == (start, end)
    assert add.created_at >= before

    moved = services.excerpt_resize(excerpt=excerpt, start=start, end=end + 5, actor=bob)
    resize = last(AuditAction.EXCERPT_RESIZE)
    assert resize.actor == bob and resize.details["old"] == [start, end]
    assert resize.details["new"] == [start, end + 5]

    memo = services.memo_save(project=transcript.case.project, author=bob, text="Et", excerpt=moved)
    services.memo_save(project=transcript.case.project, author=bob, text="Et notat", memo=memo)
    edits = AuditEvent.objects.filter(action=AuditAction.MEMO_SAVE, details__memo=memo.pk)
    assert [e.details["length"] for e in edits.order_by("id")] == [2, len("Et notat")]
    memo_id = memo.pk
    services.memo_delete(memo=memo, actor=bob)
    assert last(AuditAction.MEMO_DELETE).details["memo"] == memo_id

    coding = Coding.objects.get(content_object=moved, tag=codes[1])
    services.coding_remove(coding=coding, actor=alice)
    removed = last(AuditAction.CODING_REMOVE)
    assert removed.actor == alice and removed.details["code"] == codes[1].name
    assert removed.details["coder"] == bob.pk, "whose coding it was"

    services.code_merge(source=codes[0], target=codes[2], actor=alice)
    merge = last(AuditAction.CODE_MERGE)
    assert merge.actor == alice
    assert (merge.details["source"], merge.details["target"]) == (codes[0].name, codes[2].name)
    assert merge.details["moved"] == 1

    services.code_delete(code=codes[2], actor=alice)
    deleted = last(AuditAction.CODE_DELETE)
    assert deleted.actor == alice and deleted.details["codings"] == 1


def test_undoing_a_search_batch_is_recorded(transcript, codes, bob):
    batch = uuid.uuid4()
    for words in ("samarbeider tett", "NAV om boliger"):
        s, e = span(transcript, words)
        services.excerpt_code(
            transcript=transcript,
            start=s,
            end=e,
            codes=codes[:1],
            coder=bob,
            source=CodingSource.SEARCH,
            batch=batch,
        )
    n_before = AuditEvent.objects.count()
    assert services.coding_batch_undo(project=transcript.case.project, batch=batch, actor=bob) == 2
    assert AuditEvent.objects.count() > n_before
    assert not Coding.objects.filter(batch=batch).exists()


def test_a_refused_change_leaves_no_event(transcript, codes, bob):
    n = AuditEvent.objects.count()
    with pytest.raises(ValidationError):
        services.excerpt_code(transcript=transcript, start=5, end=2, codes=codes[:1], coder=bob)
    with pytest.raises(ValidationError):
        services.memo_save(project=transcript.case.project, author=bob, text="   ")
    assert AuditEvent.objects.count() == n
