import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from coding import access

from .factories import CodeFactory, TranscriptFactory


@pytest.fixture
def transcript(case):
    return TranscriptFactory(case=case)


def test_members_read_the_transcript(transcript, alice, bob, sue):
    for user in (alice, bob, sue):
        assert access.get_transcript_for_user(user, transcript.pk) == transcript


def test_an_outsider_gets_404_never_403(transcript, charlie):
    with pytest.raises(Http404):
        access.get_transcript_for_user(charlie, transcript.pk)
    with pytest.raises(Http404):
        access.get_project_for_user(charlie, transcript.case.project_id)


def test_a_supervisor_may_not_write(transcript, sue):
    with pytest.raises(PermissionDenied):
        access.get_transcript_for_user(sue, transcript.pk, access.WRITE)


def test_researchers_write_but_only_owners_own(project, bob, alice):
    assert access.get_project_for_user(bob, project.pk, access.WRITE) == project
    with pytest.raises(PermissionDenied):
        access.get_project_for_user(bob, project.pk, access.OWN)
    assert access.get_project_for_user(alice, project.pk, access.OWN) == project


@pytest.mark.parametrize("bad_id", ["abc", None, "", "1; drop table", 10**12])
def test_malformed_or_unknown_ids_are_404(bob, bad_id):
    with pytest.raises(Http404):
        access.get_transcript_for_user(bob, bad_id)
    with pytest.raises(Http404):
        access.get_project_for_user(bob, bad_id)


def test_anonymous_users_get_404(transcript, django_user_model):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(Http404):
        access.get_transcript_for_user(AnonymousUser(), transcript.pk)


def test_a_posted_code_id_must_belong_to_the_codebook(codebook, codes):
    assert access.codes_of_codebook(codebook.pk, [codes[0].pk]) == [codes[0]]
    foreign = CodeFactory()
    with pytest.raises(Http404):
        access.codes_of_codebook(codebook.pk, [codes[0].pk, foreign.pk])
    with pytest.raises(Http404):
        access.codes_of_codebook(codebook.pk, ["x"])
