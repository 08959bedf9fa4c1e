"""The permission rules in coding.access (may_*), one table per rule over the personas of
conftest: alice owns the project, bob researches in it, sue supervises it, charlie has no access.

A rule answers for a member; an outsider never reaches one, because every get_*_for_user raises
Http404 first (the last test). The view tests check that the pages and endpoints call the rules.
"""

import pytest
from django.http import Http404

from coding import access
from coding.models import Coding, Job, JobKind, JobStatus, Membership, Memo

from .factories import UserFactory


@pytest.fixture
def members(project, alice, bob, sue):
    """The persona's membership by name; ``carol`` is a second researcher."""
    carol = UserFactory(username="carol")
    Membership.objects.create(project=project, user=carol, role="researcher")
    return {
        m.user.username: m
        for m in Membership.objects.filter(project=project).select_related("user")
    }


def _coding(members, coder: str) -> Coding:
    return Coding(coder_id=members[coder].user_id)


# Who may remove a coding made by (column): a writer their own, an owner anyone's.
@pytest.mark.parametrize(
    ("actor", "own", "others"),
    [("alice", True, True), ("bob", True, False), ("sue", False, False)],
)
def test_may_remove_coding(members, actor, own, others):
    m = members[actor]
    assert access.may_remove_coding(m, _coding(members, actor)) is own
    assert access.may_remove_coding(m, _coding(members, "carol")) is others


@pytest.mark.parametrize(("actor", "may"), [("alice", True), ("bob", True), ("sue", False)])
def test_may_resize_an_excerpt_one_coded_oneself(members, actor, may):
    m = members[actor]
    mine_and_carols = [_coding(members, "carol"), _coding(members, actor)]
    assert access.may_resize_excerpt(m, mine_and_carols) is may
    # Nobody moves a passage only others coded, not even an owner: only one's own codings move.
    assert access.may_resize_excerpt(m, [_coding(members, "carol")]) is False
    assert access.may_resize_excerpt(m, []) is False


@pytest.mark.parametrize(
    ("actor", "own_batch", "mixed_batch"),
    [("alice", True, True), ("bob", True, False), ("sue", False, False)],
)
def test_may_undo_batch(members, actor, own_batch, mixed_batch):
    m = members[actor]
    own = [_coding(members, actor), _coding(members, actor)]
    mixed = [_coding(members, actor), _coding(members, "carol")]
    assert access.may_undo_batch(m, own) is own_batch
    assert access.may_undo_batch(m, mixed) is mixed_batch
    assert access.may_undo_batch(members["alice"], [_coding(members, "carol")]) is True
    assert access.may_undo_batch(members["bob"], [_coding(members, "carol")]) is False


@pytest.mark.parametrize(
    ("actor", "own", "others"),
    # Editing a memo's text is the author's alone: an owner does not rewrite another's words.
    [("alice", True, False), ("bob", True, False), ("sue", False, False)],
)
def test_may_edit_memo(members, actor, own, others):
    m = members[actor]
    assert access.may_edit_memo(m, Memo(author_id=m.user_id)) is own
    assert access.may_edit_memo(m, Memo(author_id=members["carol"].user_id)) is others


@pytest.mark.parametrize(
    ("actor", "own", "others"),
    # Labelling (type, links) is the author's or an owner's.
    [("alice", True, True), ("bob", True, False), ("sue", False, False)],
)
def test_may_label_memo(members, actor, own, others):
    m = members[actor]
    assert access.may_label_memo(m, Memo(author_id=m.user_id)) is own
    assert access.may_label_memo(m, Memo(author_id=members["carol"].user_id)) is others


@pytest.mark.parametrize(
    ("actor", "others_draft", "others_done"),
    [("alice", True, True), ("bob", False, True), ("sue", False, True)],
)
def test_may_see_job(members, actor, others_draft, others_done):
    m = members[actor]
    carol = members["carol"].user_id
    draft = Job(kind=JobKind.IMPORT, status=JobStatus.DRAFT, created_by_id=carol)
    parsing = Job(
        kind=JobKind.IMPORT,
        status=JobStatus.RUNNING,
        params={"stage": "parse"},
        created_by_id=carol,
    )
    done = Job(kind=JobKind.IMPORT, status=JobStatus.DONE, created_by_id=carol)
    export = Job(kind=JobKind.EXPORT, status=JobStatus.QUEUED, created_by_id=carol)
    assert access.may_see_job(m, draft) is others_draft
    assert access.may_see_job(m, parsing) is others_draft
    assert access.may_see_job(m, done) is others_done
    assert access.may_see_job(m, export) is True
    own_draft = Job(kind=JobKind.IMPORT, status=JobStatus.DRAFT, created_by_id=m.user_id)
    assert access.may_see_job(m, own_draft) is True


@pytest.mark.parametrize(("actor", "owner"), [("alice", True), ("bob", False), ("sue", False)])
def test_is_owner(members, actor, owner):
    assert access.is_owner(members[actor]) is owner


def test_an_outsider_never_reaches_a_rule(project, charlie, alice):
    with pytest.raises(Http404):
        access.get_project_for_user(charlie, project.pk)
    assert not Membership.objects.filter(project=project, user=charlie).exists()
