"""The consensus layer: settling the coders' disagreements, and undoing a settlement.

Every consensus coding is written here (``CodingLayer.CONSENSUS``, ``coder`` = the researcher
who decided), each time with a ``ConsensusDecision`` and one audit event. A decision works on
one *passage* of the comparison view (``coding.spans.passages``: a connected stretch any of the
chosen coders coded with the code) and replaces the consensus codings of that code that overlap
it by its result:

- ``keep``: one coder's version (the spans their codings cover inside the passage);
- ``merge``: the union of every coder's spans (the whole passage);
- ``new``: a span the researcher writes (it must overlap the passage);
- ``drop``: nothing: the code does not apply there.

A coder is *overruled* when they coded inside the passage and the result is not exactly their
version (it drops or changes their coding); a decision that overrules anyone needs a reason.

``consensus_start_from`` begins a transcript's empty consensus with a copy of one coder's
codings. ``consensus_undo`` takes back one live decision, the transcript's latest unless
another is named, when no later live decision depends on it (``models.later_dependents``):
the codings it made go through ``undo.coding_batch_undo`` (each removal audited) and the
consensus codings it replaced come back with their own batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coding import access
from coding.models import (
    AuditAction,
    AuditEvent,
    Code,
    Coding,
    CodingLayer,
    CodingSource,
    ConsensusAction,
    ConsensusDecision,
    Excerpt,
    Membership,
    Transcript,
    later_dependents,
)
from coding.models.consensus import REASON_MAX
from coding.services.audit import audit
from coding.services.excerpts import (
    check_span,
    code_check,
    drop_bare_excerpts,
    lock_codes_in_use,
    lock_excerpts,
)
from coding.services.undo import coding_batch_undo
from coding.spans import Span, passages

PASSAGE_ACTIONS = (
    ConsensusAction.KEEP,
    ConsensusAction.MERGE,
    ConsensusAction.NEW,
    ConsensusAction.DROP,
)


def _refuse_unless_settler(membership: Membership, transcript: Transcript) -> None:
    if membership.project_id != transcript.case.project_id:
        raise PermissionDenied
    if not access.may_settle_consensus(membership, transcript):
        raise PermissionDenied


def _lock_transcript(transcript: Transcript) -> None:
    """Decisions on one transcript one at a time: each reads the consensus it replaces."""
    list(Transcript.objects.select_for_update().filter(pk=transcript.pk).values_list("pk"))


def _create(
    *,
    transcript: Transcript,
    items: Sequence[tuple[Code, int, int]],
    coder: User,
    batch: uuid.UUID | None,
) -> list[Coding]:
    """Consensus codings of (code, start, end) by ``coder``: the excerpt with that span is
    reused or made (and locked, as ``excerpt_code`` does)."""
    starts = transcript.paragraph_starts()
    made: list[Coding] = []
    for code, start, end in items:
        check_span(transcript, start, end)
        excerpt, _created = Excerpt.objects.get_or_create(
            transcript=transcript,
            start=start,
            end=end,
            defaults={**Excerpt.span_fields(transcript, start, end, starts), "created_by": coder},
        )
        if not lock_excerpts([excerpt.pk]):
            raise ValidationError(
                _("The passage was changed by someone else just now; please try again."),
                code="excerpt_busy",
            )
        made.append(
            Coding(
                tag=code,
                content_object=excerpt,
                coder=coder,
                source=CodingSource.MANUAL,
                batch=batch,
                layer=CodingLayer.CONSENSUS,
            )
        )
    lock_codes_in_use(sorted({c.tag_id for c in made}))
    return Coding.objects.bulk_create(made)


def _remove(codings: Sequence[Coding]) -> list[dict[str, Any]]:
    """Delete consensus codings (and excerpts left bare); returns what undo needs to restore
    them."""
    gone = [
        {
            "code_id": c.tag_id,
            "start": c.content_object.start,
            "end": c.content_object.end,
            "coder": c.coder_id,
            "batch": str(c.batch) if c.batch else None,
        }
        for c in codings
    ]
    excerpt_ids = {c.content_object_id for c in codings}
    lock_excerpts(excerpt_ids)
    Coding.objects.filter(pk__in=[c.pk for c in codings]).delete()
    drop_bare_excerpts(excerpt_ids)
    return gone


def _result(
    action: str,
    passage: Span,
    versions: dict[int, list[Span]],
    keep: User | None,
    span: Span | None,
) -> list[Span]:
    if action == ConsensusAction.KEEP:
        if keep is None or keep.pk not in versions:
            raise ValidationError(
                _("Choose one of the compared coders' versions."), code="consensus_keep"
            )
        if not versions[keep.pk]:
            raise ValidationError(
                _("This coder did not code the passage; to leave it out, choose “does not apply”."),
                code="consensus_keep_empty",
            )
        return versions[keep.pk]
    if action == ConsensusAction.MERGE:
        return [passage]
    if action == ConsensusAction.NEW:
        if span is None:
            raise ValidationError(_("Mark the new passage first."), code="consensus_span")
        start, end = span
        if not (start < passage[1] and passage[0] < end):
            raise ValidationError(
                _("The new passage must overlap the passage being settled."),
                code="consensus_span_outside",
            )
        return [(start, end)]
    if action == ConsensusAction.DROP:
        return []
    raise ValidationError(_("Unknown consensus action."), code="consensus_action")


@transaction.atomic
def consensus_decide(
    *,
    membership: Membership,
    transcript: Transcript,
    code: Code,
    coders: Sequence[User],
    action: str,
    passage: Span,
    keep: User | None = None,
    span: Span | None = None,
    reason: str = "",
) -> ConsensusDecision:
    """Settle the passage ``passage`` (its [start, end) as the comparison view showed it) of
    ``code`` on ``transcript`` between ``coders``, as ``membership``'s user.

    The coders' versions are read again here, never taken from the request: when they no
    longer make that passage (someone coded meanwhile) the decision is refused. Raises
    ValidationError (nothing written) for a stale passage, a bad span, or a missing reason when
    the result overrules a coder; PermissionDenied for a member who may not settle.
    """
    _refuse_unless_settler(membership, transcript)
    (code,) = code_check(transcript, [code])
    if action not in PASSAGE_ACTIONS:
        raise ValidationError(_("Unknown consensus action."), code="consensus_action")
    if len({u.pk for u in coders}) < 2:
        raise ValidationError(_("Compare at least two coders."), code="consensus_coders")
    if span is not None:
        check_span(transcript, *span)
    reason = " ".join(reason.split())
    if len(reason) > REASON_MAX:
        raise ValidationError(
            _("Keep the reason under %(n)s characters.") % {"n": REASON_MAX},
            code="consensus_reason_long",
        )
    _lock_transcript(transcript)
    spans = Coding.objects.coder_spans(transcript, [code.pk], [u.pk for u in coders])
    found = [
        (start, end, cut)
        for start, end, cut in passages([spans[u.pk] for u in coders])
        if (start, end) == tuple(passage)
    ]
    if not found:
        raise ValidationError(
            _("The coders' codings of this passage changed since the page was loaded. Reload it."),
            code="consensus_stale",
        )
    p_start, p_end, cut = found[0]
    versions = {u.pk: cut[k] for k, u in enumerate(coders)}
    result = _result(action, (p_start, p_end), versions, keep, span)
    overruled = [pk for pk, v in versions.items() if v and v != result]
    if overruled and not reason:
        raise ValidationError(
            {
                "reason": ValidationError(
                    _("Give a short reason: this decision overrules a coder."),
                    code="consensus_reason",
                )
            }
        )
    lo = min([p_start, *(s for s, _e in result)])
    hi = max([p_end, *(e for _s, e in result)])
    replaced = list(
        Coding.objects.consensus_layer()
        .filter(
            tag=code,
            content_object__transcript=transcript,
            content_object__start__lt=hi,
            content_object__end__gt=lo,
        )
        .select_related("content_object")
    )
    batch = uuid.uuid4()
    gone = _remove(replaced)
    _create(
        transcript=transcript,
        items=[(code, s, e) for s, e in result],
        coder=membership.user,
        batch=batch,
    )
    decision = ConsensusDecision.objects.create(
        project_id=transcript.case.project_id,
        transcript=transcript,
        code=code,
        decided_by=membership.user,
        action=action,
        start=p_start,
        end=p_end,
        kept_coder=keep if action == ConsensusAction.KEEP else None,
        versions={str(pk): [list(s) for s in v] for pk, v in versions.items()},
        result=[list(s) for s in result],
        replaced=gone,
        overruled=overruled,
        reason=reason,
        batch=batch,
    )
    audit(
        project_id=transcript.case.project_id,
        actor=membership.user,
        action=AuditAction.CONSENSUS_DECIDE,
        transcript_id=transcript.pk,
        decision=decision.pk,
        consensus=action,
        code=code.name,
        code_id=code.pk,
        start=p_start,
        end=p_end,
        kept=keep.pk if action == ConsensusAction.KEEP and keep else None,
        result=decision.result,
        replaced=len(gone),
        overruled=overruled,
        reason=reason,
        batch=str(batch),
    )
    return decision


@transaction.atomic
def consensus_start_from(
    *, membership: Membership, transcript: Transcript, coder: User
) -> ConsensusDecision:
    """Begin the transcript's consensus with a copy of ``coder``'s codings of it (every code),
    in one batch, audited and undoable. Refused when the transcript has consensus codings
    already (it starts a consensus; it does not overwrite one) or the coder coded nothing."""
    _refuse_unless_settler(membership, transcript)
    _lock_transcript(transcript)
    if Coding.objects.consensus_layer().filter(content_object__transcript=transcript).exists():
        raise ValidationError(
            _(
                "This transcript's consensus has begun already: settle it passage by passage, "
                "or undo its decisions first."
            ),
            code="consensus_started",
        )
    theirs = list(
        Coding.objects.coder_layer()
        .filter(content_object__transcript=transcript, coder=coder)
        .select_related("tag", "content_object")
        .order_by("content_object__start", "content_object__end", "tag_id")
    )
    if not theirs:
        raise ValidationError(
            _("This coder has coded nothing in the transcript."), code="consensus_start_empty"
        )
    batch = uuid.uuid4()
    _create(
        transcript=transcript,
        items=[(c.tag, c.content_object.start, c.content_object.end) for c in theirs],
        coder=membership.user,
        batch=batch,
    )
    decision = ConsensusDecision.objects.create(
        project_id=transcript.case.project_id,
        transcript=transcript,
        decided_by=membership.user,
        action=ConsensusAction.START,
        kept_coder=coder,
        result=[[c.tag_id, c.content_object.start, c.content_object.end] for c in theirs],
        batch=batch,
    )
    audit(
        project_id=transcript.case.project_id,
        actor=membership.user,
        action=AuditAction.CONSENSUS_START,
        transcript_id=transcript.pk,
        decision=decision.pk,
        coder=coder.pk,
        codings=len(theirs),
        batch=str(batch),
    )
    return decision


def latest_decision(transcript: Transcript) -> ConsensusDecision | None:
    """What ``consensus_undo`` takes back when no decision is named: the transcript's newest
    live decision."""
    return (
        ConsensusDecision.objects.live()
        .filter(transcript=transcript)
        .order_by("-decided_at", "-id")
        .first()
    )


@transaction.atomic
def consensus_undo(
    *,
    membership: Membership,
    transcript: Transcript,
    decision: ConsensusDecision | None = None,
) -> ConsensusDecision | None:
    """Take back ``decision`` (one of the transcript's, resolved by the caller), or else the
    transcript's latest live consensus decision. An earlier decision is taken back only when no
    later live one depends on it (``models.later_dependents``: each replaced what the ones
    before it left where they acted); otherwise ValidationError, nothing written. Its codings
    are removed through ``coding_batch_undo``; the consensus codings it replaced come back.
    Only its decider or an owner undoes it. Returns the decision undone, or None when there is
    none (or the one named is undone already)."""
    _refuse_unless_settler(membership, transcript)
    _lock_transcript(transcript)
    if decision is None:
        decision = latest_decision(transcript)
    elif decision.transcript_id != transcript.pk:
        raise PermissionDenied
    else:
        # Read again under the lock: someone may have undone it since the page was loaded.
        decision = ConsensusDecision.objects.live().filter(pk=decision.pk).first()
    if decision is None:
        return None
    if not access.may_undo_consensus(membership, decision):
        raise PermissionDenied
    live = ConsensusDecision.objects.live().filter(transcript=transcript)
    if later_dependents(decision, live):
        raise ValidationError(
            _(
                "A later consensus decision on this passage stands and builds on this one: "
                "undo that one first."
            ),
            code="consensus_undo_later",
        )
    project = transcript.case.project
    removed = coding_batch_undo(project=project, batch=decision.batch, actor=membership.user)
    codes = {
        c.pk: c
        for c in Code.objects.filter(
            codebook__project=project, pk__in={r["code_id"] for r in decision.replaced}
        )
    }
    users = {u.pk: u for u in User.objects.filter(pk__in={r["coder"] for r in decision.replaced})}
    restored = 0
    for r in decision.replaced:
        code, coder = codes.get(r["code_id"]), users.get(r["coder"])
        if code is None or coder is None:
            continue  # the code or the researcher was deleted since: nothing to restore
        _create(
            transcript=transcript,
            items=[(code, r["start"], r["end"])],
            coder=coder,
            batch=uuid.UUID(r["batch"]) if r.get("batch") else None,
        )
        restored += 1
    decision.undone_at = timezone.now()
    decision.undone_by = membership.user
    decision.save(update_fields=["undone_at", "undone_by"])
    decided = AuditEvent.objects.filter(
        project=project,
        action__in=(AuditAction.CONSENSUS_DECIDE, AuditAction.CONSENSUS_START),
        details__decision=decision.pk,
    ).values_list("pk", flat=True)
    audit(
        project_id=project.pk,
        actor=membership.user,
        action=AuditAction.CONSENSUS_UNDO,
        transcript_id=transcript.pk,
        decision=decision.pk,
        consensus=decision.action,
        code=decision.code.name if decision.code else None,
        start=decision.start,
        end=decision.end,
        removed=removed,
        restored=restored,
        undo_of=list(decided),
    )
    return decision
