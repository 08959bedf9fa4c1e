"""coding/services/language.py: applying a code from search keeps to the project, keywords are
added each once, and language jobs run one of a kind at a time."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from coding import services
from coding.models import AuditAction, AuditEvent, Coding, Job, JobKind, JobStatus

from .factories import CodebookFactory, CodeFactory, ProjectFactory, TranscriptFactory


@pytest.fixture
def transcript(case):
    return TranscriptFactory(case=case, text="I: Hva gjør dere?\n\nIP: Vi samarbeider med NAV.")


def test_search_refuses_a_code_of_another_project(project, transcript, bob):
    foreign = CodeFactory(codebook=CodebookFactory(project=ProjectFactory()))
    with pytest.raises(ValidationError) as exc:
        services.search_code_apply(
            project=project, code=foreign, passages=[(transcript, 0, 5)], coder=bob
        )
    assert exc.value.code == "foreign_code"
    assert not Coding.objects.exists()


def test_search_refuses_a_passage_of_another_project_and_codes_none_of_the_batch(
    project, codes, transcript, bob
):
    elsewhere = TranscriptFactory(case__project=ProjectFactory(), text="Hemmelig intervju.")
    with pytest.raises(ValidationError) as exc:
        services.search_code_apply(
            project=project,
            code=codes[0],
            passages=[(transcript, 0, 5), (elsewhere, 0, 8)],
            coder=bob,
        )
    assert exc.value.code == "foreign_passage"
    assert not Coding.objects.exists(), "the batch is all or nothing"
    assert not AuditEvent.objects.exists()


def test_keywords_are_added_once_whatever_their_case_and_spacing(project, codes, alice):
    code = codes[0]
    code.keywords = "samarbeid"
    code.save(update_fields=["keywords"])
    added = services.code_keywords_add(
        code=code, actor=alice, keywords=["Samarbeid", "  tett   samarbeid ", "NAV", "nav", ""]
    )
    assert added == ["tett samarbeid", "NAV"]
    code.refresh_from_db()
    assert code.keywords.splitlines() == ["samarbeid", "tett samarbeid", "NAV"]
    (ev,) = AuditEvent.objects.filter(action=AuditAction.CODE_UPDATE)
    assert ev.details["added_keywords"] == ["tett samarbeid", "NAV"]
    # The suggestions are refreshed for the new keywords.
    assert Job.objects.filter(project=project, kind=JobKind.SUGGEST).count() == 1


def test_nothing_new_changes_nothing_and_starts_no_job(project, codes, alice):
    code = codes[0]
    code.keywords = "samarbeid"
    code.save(update_fields=["keywords"])
    assert services.code_keywords_add(code=code, actor=alice, keywords=["SAMARBEID", " "]) == []
    assert not AuditEvent.objects.exists()
    assert not Job.objects.exists()


def test_a_keyword_the_code_lacks_cannot_be_removed(project, codes, alice):
    code = codes[0]
    code.keywords = "samarbeid\nNAV"
    code.save(update_fields=["keywords"])
    with pytest.raises(ValidationError) as exc:
        services.code_keyword_remove(code=code, actor=alice, keyword="bolig")
    assert exc.value.code == "no_keyword"
    assert services.code_keyword_remove(code=code, actor=alice, keyword="  nav ") == ["samarbeid"]


def test_a_language_job_of_a_kind_already_queued_is_returned_not_doubled(project, alice, settings):
    # The thread runner starts a job when the transaction commits, which a test's never does:
    # the job stays queued.
    settings.JOB_RUNNER = "thread"
    first = services.language_job_start(project=project, user=alice, kind=JobKind.REINDEX)
    again = services.language_job_start(project=project, user=alice, kind=JobKind.REINDEX)
    assert again.pk == first.pk
    other = services.language_job_start(project=project, user=alice, kind=JobKind.SUGGEST)
    assert other.pk != first.pk
    assert Job.objects.filter(project=project).count() == 2
    assert Job.objects.get(pk=first.pk).status == JobStatus.QUEUED


def test_a_stale_running_job_does_not_block_a_new_one(project, alice, settings):
    settings.JOB_RUNNER = "thread"
    settings.JOB_STALE_SECONDS = 60
    dead = Job.objects.create(
        project=project,
        kind=JobKind.REINDEX,
        status=JobStatus.RUNNING,
        heartbeat_at=timezone.now() - dt.timedelta(minutes=10),
    )
    new = services.language_job_start(project=project, user=alice, kind=JobKind.REINDEX)
    assert new.pk != dead.pk
    dead.refresh_from_db()
    assert dead.status == JobStatus.FAILED


def test_only_language_jobs_start_here(project, alice):
    with pytest.raises(ValueError):
        services.language_job_start(project=project, user=alice, kind=JobKind.EXPORT)
    assert not Job.objects.exists()
