"""The one place that decides who may see and change what.

Every view and task that receives an id from outside resolves it here. Each helper returns the
object or raises Http404 for anyone who is not a member of its project (never 403, which would
reveal that the object exists). A member whose role does not allow the action gets
PermissionDenied (403): they already know the project exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from coding.models import (
    WRITE_ROLES,
    Assignment,
    Case,
    Code,
    Coding,
    CodingLayer,
    ConsensusDecision,
    Excerpt,
    Informant,
    Job,
    JobKind,
    Membership,
    Memo,
    Project,
    Role,
    Suggestion,
    Transcript,
    blind_transcripts,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

# An id as it came from outside (a route, a form field, a command's option), not yet checked.
RawId = int | str | UUID

READ = "read"
WRITE = "write"
OWN = "own"


def membership_for(user: User | AnonymousUser, project_id: int) -> Membership:
    if not user.is_authenticated:
        raise Http404
    m = (
        Membership.objects.select_related("project")
        .filter(project_id=project_id, user=user)
        .first()
    )
    if m is None:
        raise Http404
    return m


def check_role(membership: Membership, need: str) -> None:
    if need == WRITE and membership.role not in WRITE_ROLES:
        raise PermissionDenied
    if need == OWN and membership.role != Role.OWNER:
        raise PermissionDenied


# The models _get resolves; each declares the ``membership`` it sets.
_Resolved = TypeVar(
    "_Resolved",
    Case,
    Informant,
    Transcript,
    Excerpt,
    Code,
    Memo,
    Job,
    Membership,
    Coding,
    Suggestion,
    Assignment,
)


def _get(
    qs: QuerySet[_Resolved], pk: Any, project_path: str, user: User | AnonymousUser, need: str
) -> _Resolved:
    """``pk`` as it came from outside (a route, a form, a query string): any value that is not
    one of ``qs``'s ids raises Http404."""
    try:
        obj = qs.get(pk=pk)
    except (qs.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
    # ``project_path`` ends in the project_id of the object that holds the project.
    *path, _project_id = project_path.split(".")
    holder: Any = obj  # the object holding the project, reached by attribute names
    for part in path:
        holder = getattr(holder, part)
    m = membership_for(user, holder.project_id)
    check_role(m, need)
    obj.membership = m
    # The object's own project (case.project, transcript.case.project …) carries the membership
    # too, so a page asks ``project.membership`` whatever object it was reached through.
    if holder._meta.get_field("project").is_cached(holder):
        holder.project.membership = m
    return obj


def get_project_for_user(
    user: User | AnonymousUser, project_id: RawId, need: str = READ
) -> Project:
    try:
        pid = int(project_id)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    m = membership_for(user, pid)
    check_role(m, need)
    project = m.project
    project.membership = m
    return project


def get_case_for_user(user: User | AnonymousUser, case_id: RawId, need: str = READ) -> Case:
    return _get(Case.objects.select_related("project"), case_id, "project_id", user, need)


def get_informant_for_user(
    user: User | AnonymousUser, informant_id: RawId, need: str = READ
) -> Informant:
    return _get(
        Informant.objects.select_related("case__project"),
        informant_id,
        "case.project_id",
        user,
        need,
    )


def get_transcript_for_user(
    user: User | AnonymousUser, transcript_id: RawId, need: str = READ
) -> Transcript:
    return _get(
        Transcript.objects.select_related("case__project"),
        transcript_id,
        "case.project_id",
        user,
        need,
    )


def get_excerpt_for_user(
    user: User | AnonymousUser, excerpt_id: RawId, need: str = READ
) -> Excerpt:
    return _get(
        Excerpt.objects.select_related("transcript__case__project"),
        excerpt_id,
        "transcript.case.project_id",
        user,
        need,
    )


def get_visible_excerpt_for_user(
    user: User | AnonymousUser, excerpt_id: RawId, need: str = READ
) -> Excerpt:
    """An excerpt the user may see: a passage only others coded in a transcript the user
    codes blind is not found (404), as it would be for an outsider."""
    excerpt = get_excerpt_for_user(user, excerpt_id, need)
    if not Excerpt.objects.filter(pk=excerpt.pk).visible_to(excerpt.membership).exists():
        raise Http404
    return excerpt


def get_code_for_user(user: User | AnonymousUser, code_id: RawId, need: str = READ) -> Code:
    return _get(
        Code.objects.select_related("codebook__project"),
        code_id,
        "codebook.project_id",
        user,
        need,
    )


def get_memo_for_user(user: User | AnonymousUser, memo_id: RawId, need: str = READ) -> Memo:
    return _get(Memo.objects.select_related("project"), memo_id, "project_id", user, need)


def get_memo_to_label_for_user(user: User | AnonymousUser, memo_id: RawId) -> Memo:
    """A memo whose type the user may set: a writer's own memo, or any memo for an owner."""
    memo = get_memo_for_user(user, memo_id, WRITE)
    if not may_label_memo(memo.membership, memo):
        raise PermissionDenied
    return memo


def get_job_for_user(user: User | AnonymousUser, job_id: RawId, need: str = READ) -> Job:
    """A job of the user's project. An import not yet confirmed (being read, or a draft
    waiting for its preview) belongs to its uploader and the project's owners: 404 for others."""
    job = _get(Job.objects.select_related("project"), job_id, "project_id", user, need)
    if not may_see_job(job.membership, job):
        raise Http404
    return job


def codes_of_codebook(codebook_id: int, code_ids: Iterable[Any]) -> list[Code]:
    """The Code objects for posted ids; any id not in this codebook (a missing field's None,
    a word) raises Http404."""
    try:
        ids = {int(c) for c in code_ids}
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    codes = list(Code.objects.filter(codebook_id=codebook_id, pk__in=ids))
    if len(codes) != len(ids):
        raise Http404
    return codes


def consensus_decision_of(transcript: Transcript, decision_id: str) -> ConsensusDecision:
    """One of ``transcript``'s consensus decisions, for a posted id (the caller resolved the
    transcript for the user); any other id raises Http404."""
    try:
        return ConsensusDecision.objects.select_related("code").get(
            pk=decision_id, transcript=transcript
        )
    except (ConsensusDecision.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def get_membership_for_user(
    user: User | AnonymousUser, membership_id: RawId, need: str = READ
) -> Membership:
    """Another member's membership, resolved through the acting user's own membership."""
    return _get(
        Membership.objects.select_related("project", "user"),
        membership_id,
        "project_id",
        user,
        need,
    )


def get_coding_for_user(user: User | AnonymousUser, coding_id: RawId, need: str = READ) -> Coding:
    return _get(
        Coding.objects.select_related("content_object__transcript__case__project", "tag"),
        coding_id,
        "content_object.transcript.case.project_id",
        user,
        need,
    )


def get_suggestion_for_user(
    user: User | AnonymousUser, suggestion_id: RawId, need: str = READ
) -> Suggestion:
    return _get(
        Suggestion.objects.select_related("transcript__case__project", "code", "classifier"),
        suggestion_id,
        "transcript.case.project_id",
        user,
        need,
    )


# --- permission rules ---------------------------------------------------------------------------
# Each rule takes the acting user's membership in the object's project (``obj.membership`` or
# ``project.membership`` after a get_*_for_user call above) and answers with a bool. Views turn a
# False into PermissionDenied (a POST) or leave the control out of the page (a GET); the same rule
# answers both, so a page never offers what the server would refuse.


def is_owner(membership: Membership) -> bool:
    """Owners manage the project: members, cases, attributes, memo types, mined keywords, and
    anyone's codings and memo labels."""
    return membership.role == Role.OWNER


def may_remove_coding(membership: Membership, coding: Coding) -> bool:
    """A writer removes their own coding; an owner anyone's. A consensus coding changes only
    by a consensus decision (``may_settle_consensus``), never by removing it."""
    if coding.layer != CodingLayer.CODER:
        return False
    return membership.can_write and (is_owner(membership) or coding.coder_id == membership.user_id)


def resized_codings(user_id: int, codings: Iterable[Coding]) -> list[Coding]:
    """Of an excerpt's ``codings``, those that move when the user moves its boundaries: their
    own, in the coder layer (another coder's, and the consensus, stay where they were put)."""
    return [c for c in codings if c.coder_id == user_id and c.layer == CodingLayer.CODER]


def may_resize_excerpt(membership: Membership, codings: Iterable[Coding]) -> bool:
    """A writer moves an excerpt's boundaries when they coded it: only their codings move
    (``resized_codings``, which ``services.excerpt_resize`` moves)."""
    return membership.can_write and bool(resized_codings(membership.user_id, codings))


def may_undo_batch(membership: Membership, codings: Iterable[Coding]) -> bool:
    """A batch applied from search is undone by an owner, or by a writer who made all of it.
    A consensus decision's batch is undone as a decision (``may_undo_consensus``)."""
    codings = list(codings)
    if any(c.layer != CodingLayer.CODER for c in codings):
        return False
    return membership.can_write and (
        is_owner(membership) or all(c.coder_id == membership.user_id for c in codings)
    )


def may_settle_consensus(membership: Membership, transcript: Transcript) -> bool:
    """Researchers and owners settle the coders' disagreements into the consensus; supervisors
    read the consensus and its decisions but change nothing of the coding. Nobody settles a
    transcript they code blind: they cannot see the versions they would choose between."""
    return membership.can_write and not is_blinded(membership, transcript)


def may_undo_consensus(membership: Membership, decision: ConsensusDecision) -> bool:
    """A consensus decision is undone by the researcher who made it, or by an owner."""
    return membership.can_write and (
        is_owner(membership) or decision.decided_by_id == membership.user_id
    )


def may_edit_memo(membership: Membership, memo: Memo) -> bool:
    """A memo's text is edited or deleted by its author only, while they may write."""
    return membership.can_write and memo.author_id == membership.user_id


def may_label_memo(membership: Membership, memo: Memo) -> bool:
    """A memo's type and links are set by its writing author, or by an owner."""
    return membership.can_write and (memo.author_id == membership.user_id or is_owner(membership))


def may_see_job(membership: Membership, job: Job) -> bool:
    """Every member sees the project's jobs, except an import not yet confirmed (being read, or
    a draft waiting for its preview): that belongs to its uploader and the project's owners;
    and, while a researcher codes blind, other members' exports (they hold others' codings)."""
    if job.kind == JobKind.IMPORT and job.is_unconfirmed_import:
        return job.created_by_id == membership.user_id or is_owner(membership)
    if job.kind == JobKind.EXPORT and is_blinded_somewhere(membership):
        return job.created_by_id == membership.user_id
    return True


# --- blind coding (issue 13) --------------------------------------------------------------------
# What a blinded researcher may see is one rule, ``models.blind_transcripts``, which the read
# models apply through the ``visible_to`` queryset methods; these answer the views' questions.


def is_blinded(membership: Membership, transcript: Transcript) -> bool:
    """Whether ``membership`` sees only their own codings of ``transcript``."""
    blind = blind_transcripts(membership)
    return blind is not None and blind.filter(pk=transcript.pk).exists()


def is_blinded_somewhere(membership: Membership) -> bool:
    """Whether ``membership`` codes blind in some transcript of the project (then they see only
    their own export files, among other things)."""
    return blind_transcripts(membership) is not None


def may_set_blind_coding(membership: Membership) -> bool:
    """Owners turn blind coding on and off, for the project and for each transcript."""
    return is_owner(membership)


def may_assign(membership: Membership) -> bool:
    """Owners assign transcripts to coders and remove assignments."""
    return is_owner(membership)


def get_assignment_for_user(
    user: User | AnonymousUser, assignment_id: RawId, need: str = READ
) -> Assignment:
    return _get(
        Assignment.objects.select_related("transcript__case__project", "coder"),
        assignment_id,
        "transcript.case.project_id",
        user,
        need,
    )


def may_mark_assignment_done(membership: Membership, assignment: Assignment) -> bool:
    """The assigned coder marks their assignment done (while they may write); an owner may
    mark it for them."""
    return membership.can_write and (
        assignment.coder_id == membership.user_id or is_owner(membership)
    )
