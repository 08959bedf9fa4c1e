"""The consensus layer: settling disagreements (keep, merge, new span, drop), the reason for
overruling, the audit trail, undo, "start from a coder", and who may settle."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import QueryDict

from coding import access, services
from coding.analysis import agreement, transcript_page
from coding.analysis.agreement_form import AgreementForm
from coding.analysis.comparison import compare
from coding.models import (
    AuditAction,
    AuditEvent,
    Coding,
    CodingLayer,
    ConsensusAction,
    ConsensusDecision,
    Membership,
    Role,
)
from coding.offsets import Utf16Map

from .factories import CodeFactory, TranscriptFactory, UserFactory

# Spans begin at "æ" and end at "😀" (an astral character: one code point, two UTF-16 units).
TEXT = "Innledning her. æøå bolig og tjenester 😀 i kommunen. Mer om NAV 😀. Slutt på det hele ø."
A_START = TEXT.index("æøå")
A_END = TEXT.index("😀") + 1  # alice: "æøå bolig og tjenester 😀"
B_START = TEXT.index("bolig")
B_END = TEXT.index("kommunen.") + len("kommunen.")  # bob: "bolig ... i kommunen."
ONLY = (TEXT.index("Mer om"), TEXT.index("NAV 😀") + len("NAV 😀"))  # alice alone


@pytest.fixture
def coded(project, codebook, case, alice, bob):
    t = TranscriptFactory(case=case, text=TEXT)
    k = CodeFactory(codebook=codebook, name="Samarbeid", order=0)
    services.excerpt_code(transcript=t, start=A_START, end=A_END, codes=[k], coder=alice)
    services.excerpt_code(transcript=t, start=B_START, end=B_END, codes=[k], coder=bob)
    services.excerpt_code(transcript=t, start=ONLY[0], end=ONLY[1], codes=[k], coder=alice)
    return t, k


def _m(project, user):
    return Membership.objects.get(project=project, user=user)


def _decide(project, t, k, user, action, passage, **kw):
    return services.consensus_decide(
        membership=_m(project, user),
        transcript=t,
        code=k,
        coders=kw.pop("coders", None) or list(_coders(project)),
        action=action,
        passage=passage,
        **kw,
    )


def _coders(project):
    from django.contrib.auth.models import User

    return [User.objects.get(username="alice"), User.objects.get(username="bob")]


def _consensus(t, k):
    return sorted(
        Coding.objects.consensus_layer()
        .filter(content_object__transcript=t, tag=k)
        .values_list("content_object__start", "content_object__end", "coder__username")
    )


BOUNDARY = (A_START, B_END)  # the passage the two disagree on: the union of both spans


def test_the_comparison_finds_the_passages_the_consensus_settles(coded, alice, bob):
    t, k = coded
    passages = compare(t, {k.pk}, [alice, bob])
    assert [(p.start, p.end, p.kind) for p in passages] == [
        (*BOUNDARY, "boundary"),
        (*ONLY, "only"),
    ]
    assert passages[0].spans == [[(A_START, A_END)], [(B_START, B_END)]]


def test_keeping_one_coders_version_copies_their_spans_as_the_deciders(coded, project, alice, bob):
    t, k = coded
    d = _decide(project, t, k, bob, "keep", BOUNDARY, keep=alice, reason="Alice følger koden")
    assert _consensus(t, k) == [(A_START, A_END, "bob")]
    c = Coding.objects.consensus_layer().get(tag=k)
    assert c.content_object.text == "æøå bolig og tjenester 😀"
    assert c.batch == d.batch and c.layer == CodingLayer.CONSENSUS
    assert d.action == ConsensusAction.KEEP and d.kept_coder == alice and d.decided_by == bob
    assert d.versions == {
        str(alice.pk): [[A_START, A_END]],
        str(bob.pk): [[B_START, B_END]],
    }
    assert d.overruled == [bob.pk] and d.reason == "Alice følger koden"
    # The coders' own codings are untouched.
    assert Coding.objects.coder_layer().filter(tag=k).count() == 3


def test_keeping_the_other_version(coded, project, alice, bob):
    t, k = coded
    d = _decide(project, t, k, alice, "keep", BOUNDARY, keep=bob, reason="Hele setningen")
    assert _consensus(t, k) == [(B_START, B_END, "alice")]
    assert d.overruled == [alice.pk]


def test_merging_takes_the_union_of_the_coders_spans(coded, project, alice, bob):
    t, k = coded
    d = _decide(project, t, k, bob, "merge", BOUNDARY, reason="Begge har rett")
    assert _consensus(t, k) == [(A_START, B_END, "bob")]
    assert d.result == [[A_START, B_END]]
    assert sorted(d.overruled) == sorted([alice.pk, bob.pk])  # both versions change


def test_a_new_span_is_stored_exactly_with_emoji_at_its_edge(coded, project, bob):
    t, k = coded
    s, e = TEXT.index("tjenester"), TEXT.index("😀") + 1
    _decide(project, t, k, bob, "new", BOUNDARY, span=(s, e), reason="Kjernen")
    assert _consensus(t, k) == [(s, e, "bob")]
    excerpt = Coding.objects.consensus_layer().get(tag=k).content_object
    assert excerpt.text == "tjenester 😀"
    # The transcript view (UTF-16) would see the emoji as two units: the offsets convert.
    assert Utf16Map(TEXT).to_u16(e) == e + 1


def test_a_new_span_must_overlap_the_passage(coded, project, bob):
    t, k = coded
    with pytest.raises(ValidationError) as exc:
        _decide(project, t, k, bob, "new", BOUNDARY, span=(0, 5), reason="x")
    assert exc.value.error_list[0].code == "consensus_span_outside"
    with pytest.raises(ValidationError):
        _decide(project, t, k, bob, "new", BOUNDARY, span=(A_START, len(TEXT) + 1), reason="x")
    assert _consensus(t, k) == [] and not ConsensusDecision.objects.exists()


def test_dropping_leaves_nothing_and_needs_a_reason(coded, project, bob, alice):
    t, k = coded
    _decide(project, t, k, bob, "merge", BOUNDARY, reason="først slått sammen")
    with pytest.raises(ValidationError):
        _decide(project, t, k, bob, "drop", BOUNDARY)
    assert _consensus(t, k) == [(A_START, B_END, "bob")]  # nothing half-done
    d = _decide(project, t, k, bob, "drop", BOUNDARY, reason="Koden passer ikke")
    assert _consensus(t, k) == []
    assert d.replaced == [
        {
            "code_id": k.pk,
            "start": A_START,
            "end": B_END,
            "coder": bob.pk,
            "batch": d.replaced[0]["batch"],
        }
    ]


def test_overruling_without_a_reason_is_refused_and_writes_nothing(coded, project, alice, bob):
    t, k = coded
    events = AuditEvent.objects.count()
    excerpts = t.excerpts.count()
    with pytest.raises(ValidationError) as exc:
        _decide(project, t, k, bob, "keep", BOUNDARY, keep=alice, reason="   ")
    assert "reason" in exc.value.message_dict
    assert "overrules" in exc.value.message_dict["reason"][0]
    assert _consensus(t, k) == []
    assert not ConsensusDecision.objects.exists()
    assert AuditEvent.objects.count() == events and t.excerpts.count() == excerpts


def test_keeping_the_only_version_overrules_nobody(coded, project, alice, bob):
    """Where only alice coded, keeping her version drops or changes nobody's coding."""
    t, k = coded
    d = _decide(project, t, k, bob, "keep", ONLY, keep=alice)
    assert d.overruled == [] and d.reason == ""
    assert _consensus(t, k) == [(*ONLY, "bob")]
    # Keeping bob's (empty) version there is refused: "does not apply" says that.
    with pytest.raises(ValidationError):
        _decide(project, t, k, bob, "keep", ONLY, keep=bob)


def test_a_passage_the_coders_changed_meanwhile_is_refused(coded, project, alice, bob):
    t, k = coded
    services.excerpt_code(transcript=t, start=0, end=A_START + 2, codes=[k], coder=bob)
    with pytest.raises(ValidationError) as exc:
        _decide(project, t, k, bob, "merge", BOUNDARY, reason="x")
    assert exc.value.error_list[0].code == "consensus_stale"


def test_every_decision_is_audited(coded, project, alice, bob):
    t, k = coded
    d1 = _decide(project, t, k, bob, "keep", BOUNDARY, keep=alice, reason="Smalere")
    d2 = _decide(project, t, k, alice, "keep", ONLY, keep=alice)
    events = list(
        AuditEvent.objects.filter(action=AuditAction.CONSENSUS_DECIDE).order_by("created_at", "id")
    )
    assert [e.details["decision"] for e in events] == [d1.pk, d2.pk]
    assert [e.actor for e in events] == [bob, alice]
    first = events[0].details
    assert first["consensus"] == "keep" and first["kept"] == alice.pk
    assert first["reason"] == "Smalere" and first["overruled"] == [bob.pk]
    assert (first["start"], first["end"]) == BOUNDARY and first["code"] == "Samarbeid"
    # Not the coders' own actions: the transcript view's undo does not offer them.
    assert services.undoable_event(transcript=t, actor=bob).action == AuditAction.CODING_ADD


def test_undo_takes_back_the_latest_decision_and_restores_what_it_replaced(
    coded, project, alice, bob
):
    t, k = coded
    d1 = _decide(project, t, k, bob, "keep", BOUNDARY, keep=alice, reason="Smalere")
    d2 = _decide(project, t, k, bob, "keep", BOUNDARY, keep=bob, reason="Likevel bredere")
    assert _consensus(t, k) == [(B_START, B_END, "bob")]
    undone = services.consensus_undo(membership=_m(project, bob), transcript=t)
    assert undone == d2
    d2.refresh_from_db()
    assert d2.undone_at is not None and d2.undone_by == bob
    assert _consensus(t, k) == [(A_START, A_END, "bob")]
    # The restored coding keeps the first decision's batch: undoing that works too.
    assert Coding.objects.consensus_layer().get(tag=k).batch == d1.batch
    assert services.consensus_undo(membership=_m(project, bob), transcript=t) == d1
    assert _consensus(t, k) == []
    assert services.consensus_undo(membership=_m(project, bob), transcript=t) is None
    undos = AuditEvent.objects.filter(action=AuditAction.CONSENSUS_UNDO).order_by("id")
    assert [e.details["decision"] for e in undos] == [d2.pk, d1.pk]
    decided = AuditEvent.objects.get(details__decision=d2.pk, action=AuditAction.CONSENSUS_DECIDE)
    assert undos[0].details["undo_of"] == [decided.pk]
    # The batch undo audited each removed consensus coding, marked as the consensus layer.
    removed = AuditEvent.objects.filter(
        action=AuditAction.CODING_REMOVE, details__layer="consensus"
    )
    assert removed.count() == 2
    # The coders' codings never moved.
    assert Coding.objects.coder_layer().filter(tag=k).count() == 3


def test_only_the_decider_or_an_owner_undoes_a_decision(coded, project, alice, bob):
    t, k = coded
    rita = UserFactory(username="rita")
    Membership.objects.create(project=project, user=rita, role=Role.RESEARCHER)
    _decide(project, t, k, bob, "keep", ONLY, keep=alice)
    with pytest.raises(PermissionDenied):
        services.consensus_undo(membership=_m(project, rita), transcript=t)
    assert _consensus(t, k) == [(*ONLY, "bob")]
    assert services.consensus_undo(membership=_m(project, alice), transcript=t) is not None
    assert _consensus(t, k) == []


def test_starting_from_one_coder_copies_their_coding_of_the_transcript(
    coded, project, codebook, alice, bob
):
    t, k = coded
    other = CodeFactory(codebook=codebook, name="Kompetanse", order=1)
    services.excerpt_code(transcript=t, start=0, end=10, codes=[other], coder=alice)
    d = services.consensus_start_from(membership=_m(project, bob), transcript=t, coder=alice)
    got = sorted(
        Coding.objects.consensus_layer().values_list(
            "tag__name", "content_object__start", "content_object__end", "coder__username", "batch"
        )
    )
    assert got == sorted(
        [
            ("Samarbeid", A_START, A_END, "bob", d.batch),
            ("Samarbeid", *ONLY, "bob", d.batch),
            ("Kompetanse", 0, 10, "bob", d.batch),
        ]
    )
    assert d.action == ConsensusAction.START and d.kept_coder == alice
    ev = AuditEvent.objects.get(action=AuditAction.CONSENSUS_START)
    assert ev.details["coder"] == alice.pk and ev.details["codings"] == 3
    # It starts a consensus; it does not overwrite one.
    with pytest.raises(ValidationError):
        services.consensus_start_from(membership=_m(project, bob), transcript=t, coder=bob)
    # Starting settles nothing: the disagreements still wait for a decision.
    assert services.consensus_undo(membership=_m(project, bob), transcript=t) == d
    assert not Coding.objects.consensus_layer().exists()
    assert AuditEvent.objects.filter(action=AuditAction.CONSENSUS_UNDO).count() == 1


def test_a_supervisor_may_not_settle_and_nothing_changes(coded, project, alice, bob, sue):
    t, k = coded
    assert not access.may_settle_consensus(_m(project, sue), t)
    before = (Coding.objects.count(), AuditEvent.objects.count())
    with pytest.raises(PermissionDenied):
        _decide(project, t, k, sue, "keep", ONLY, keep=alice)
    with pytest.raises(PermissionDenied):
        services.consensus_start_from(membership=_m(project, sue), transcript=t, coder=alice)
    with pytest.raises(PermissionDenied):
        services.consensus_undo(membership=_m(project, sue), transcript=t)
    assert (Coding.objects.count(), AuditEvent.objects.count()) == before
    assert not ConsensusDecision.objects.exists()


def test_the_consensus_is_no_coder_in_agreement_or_the_transcript_view(coded, project, alice, bob):
    t, k = coded

    def figures():
        report = agreement.build(project, coder_ids=[alice.pk, bob.pk], resamples=10)
        return [(r.code.name, r.figure.values) for r in report.rows]

    before = figures()
    rows_before = transcript_page.excerpt_rows(t.pk, Utf16Map(TEXT))
    _decide(project, t, k, bob, "new", BOUNDARY, span=(A_START - 5, B_END), reason="Lengre")
    _decide(project, t, k, bob, "keep", ONLY, keep=alice)
    assert figures() == before
    # The transcript view shows the coders' own codings: not bob's consensus decisions.
    assert transcript_page.excerpt_rows(t.pk, Utf16Map(TEXT)) == rows_before
    assert transcript_page.code_counts(codebook=k.codebook, transcript=t) == {k.pk: 3}
    # A researcher who only decided the consensus is no busier a coder for it: the agreement
    # form still chooses the two who coded most themselves.
    rita = UserFactory(username="rita")
    Membership.objects.create(project=project, user=rita, role=Role.RESEARCHER)
    services.consensus_undo(membership=_m(project, bob), transcript=t)
    services.consensus_undo(membership=_m(project, bob), transcript=t)
    services.consensus_start_from(membership=_m(project, rita), transcript=t, coder=alice)
    assert Coding.objects.filter(coder=rita).count() == 2  # as many as alice, more than bob
    form = AgreementForm(QueryDict(), project=project)
    assert form.is_valid() and sorted(form.cleaned_data["coders"]) == sorted([alice.pk, bob.pk])


def test_the_coders_own_paths_leave_the_consensus_alone(coded, project, alice, bob):
    """bob decided a consensus coding on alice's span: he can still code that span himself,
    and removing or resizing his own codings never touches the consensus."""
    t, k = coded
    _decide(project, t, k, bob, "keep", ONLY, keep=alice)
    _excerpt, new = services.excerpt_code(
        transcript=t, start=ONLY[0], end=ONLY[1], codes=[k], coder=bob
    )
    assert len(new) == 1 and new[0].layer == CodingLayer.CODER
    cons = Coding.objects.consensus_layer().get(tag=k)
    assert not access.may_remove_coding(_m(project, alice), cons)  # not even an owner
    assert not access.may_undo_batch(_m(project, alice), [cons])
    services.coding_undo(transcript=t, actor=bob)  # undoes bob's own coding only
    assert _consensus(t, k) == [(*ONLY, "bob")]
    bob_coding = Coding.objects.coder_layer().get(tag=k, coder=bob)
    services.excerpt_resize(
        excerpt=bob_coding.content_object, start=B_START, end=B_END - 1, actor=bob
    )
    assert _consensus(t, k) == [(*ONLY, "bob")]


def test_two_decisions_on_one_passage_at_once_leave_one_consensus(
    coded, project, alice, bob, transactional_db
):
    """On PostgreSQL two researchers settle the same passage at the same moment: the second
    waits for the first (the transcript's row lock) and replaces its result, so the consensus
    never holds both."""
    import threading

    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time; the race needs PostgreSQL (bin/test)")
    t, k = coded
    decided = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                _decide(project, t, k, alice, "keep", BOUNDARY, keep=alice, reason="Smal")
                decided.set()
                release.wait(10)  # bob decides while this is uncommitted
        except BaseException as exc:
            errors.append(exc)
        finally:
            decided.set()
            connection.close()

    def second() -> None:
        try:
            decided.wait(10)
            threading.Timer(0.3, release.set).start()
            _decide(project, t, k, bob, "keep", BOUNDARY, keep=bob, reason="Bred")
        except BaseException as exc:
            errors.append(exc)
        finally:
            release.set()
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert errors == []
    assert _consensus(t, k) == [(B_START, B_END, "bob")]
    latest = ConsensusDecision.objects.order_by("-id").first()
    assert latest.decided_by == bob and [r["coder"] for r in latest.replaced] == [alice.pk]


def test_later_dependents_block_an_undo_only_where_a_later_decision_acted():
    from datetime import datetime, timedelta, timezone

    from coding.models import later_dependents

    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def d(pk, action="merge", code=1, start=10, end=20, result=(), replaced=(), undone=False):
        return ConsensusDecision(
            pk=pk,
            transcript_id=1,
            code_id=None if action == "start" else code,
            action=action,
            start=None if action == "start" else start,
            end=None if action == "start" else end,
            result=[list(r) for r in result],
            replaced=[{"code_id": code, "start": s, "end": e} for s, e in replaced],
            decided_at=t0 + timedelta(minutes=pk),
            undone_at=t0 if undone else None,
        )

    # The first replaced a consensus coding 0–100 (restored whole on undo), so a later
    # decision at 80–90, outside its passage, still builds on it.
    first = d(1, replaced=[(0, 100)], result=[(10, 20)])
    assert first.footprint() == (0, 100)
    assert later_dependents(first, [first, d(2, start=80, end=90)]) != []
    assert later_dependents(first, [first, d(2, start=100, end=110)]) == []  # touches only
    assert later_dependents(first, [first, d(2, code=2, start=10, end=20)]) == []
    assert later_dependents(first, [first, d(2, start=10, end=20, undone=True)]) == []
    assert later_dependents(d(3), [d(2, start=10, end=20), d(3)]) == []  # earlier ones don't
    # A start acted on every code everywhere: blocked by, and blocking, anything later.
    start = d(1, action="start")
    assert start.footprint() is None
    assert later_dependents(start, [start, d(2, code=5, start=0, end=1)]) != []
    assert later_dependents(first, [first, d(2, action="start")]) != []
