"""coding/services/imports.py: an import's stages (read → draft → confirmed → done) and what
each stage refuses, so a page posted twice or out of order cannot run a stage again."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from coding import importers, services
from coding.models import Informant, Job, JobStatus, Transcript

from . import docs
from .factories import CaseFactory, InformantFactory

PASTED = "I: Hvordan jobber dere?\n\nIP: Vi samarbeider tett med NAV om boliger."


def _draft(project, case, bob) -> Job:
    job = services.import_prepare(project=project, case=case, user=bob, pasted=PASTED, title="T")
    job.refresh_from_db()
    assert job.status == JobStatus.DRAFT, job.message
    return job


def test_pasted_text_goes_from_draft_to_a_transcript_once(project, case, bob):
    job = _draft(project, case, bob)
    tone = InformantFactory(case=case, pseudonym="Tone")
    speakers = {
        "I": {"kind": "interviewer"},
        "IP": {"kind": "informant", "informant_id": tone.pk},
    }
    services.import_confirm(job=job, metadata={"title": "Intervju med Tone"}, speakers=speakers)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.message
    transcript = Transcript.objects.get(case=case)
    assert transcript.title == "Intervju med Tone"
    assert "samarbeider" in transcript.text
    # The page posted again: nothing runs twice.
    for again in (
        lambda: services.import_confirm(job=job, metadata={}, speakers=speakers),
        lambda: services.import_reread(job=job, encoding="utf-8"),
        lambda: services.import_discard(job=job),
    ):
        with pytest.raises(ValidationError) as exc:
            again()
        assert exc.value.code == "not_draft"
    assert Transcript.objects.filter(case=case).count() == 1


def test_a_speaker_mapped_to_another_cases_informant_is_refused(project, case, bob):
    job = _draft(project, case, bob)
    stranger = InformantFactory(case=CaseFactory(project=project))
    speakers = {"IP": {"kind": "informant", "informant_id": stranger.pk}}
    services.import_confirm(job=job, metadata={}, speakers=speakers)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "does not belong to this case" in job.message
    assert not Transcript.objects.exists()
    assert Informant.objects.get(pk=stranger.pk).case_id != case.pk


def test_a_draft_is_reread_only_in_an_encoding_we_offer(project, case, bob):
    job = _draft(project, case, bob)
    with pytest.raises(ValidationError) as exc:
        services.import_reread(job=job, encoding="ebcdic")
    assert exc.value.code == "encoding"
    job.refresh_from_db()
    assert job.status == JobStatus.DRAFT
    encoding = next(iter(importers.TEXT_ENCODINGS))
    services.import_reread(job=job, encoding=encoding)
    job.refresh_from_db()
    assert job.status == JobStatus.DRAFT and job.params["encoding"] == encoding


def test_a_draft_is_not_discarded_as_a_refused_file(project, case, bob):
    job = _draft(project, case, bob)
    with pytest.raises(ValidationError) as exc:
        services.import_discard(job=job)
    assert exc.value.code == "not_draft"
    assert Job.objects.filter(pk=job.pk).exists()


def test_a_refused_file_leaves_no_upload_and_is_then_forgotten(project, case, bob):
    upload = SimpleUploadedFile("program.docx", docs.EXE)
    job = services.import_prepare(project=project, case=case, user=bob, upload=upload)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "program.docx" in job.message
    assert not job.input_file, "a refused upload does not stay in MEDIA_ROOT"
    services.import_discard(job=job)
    assert not Job.objects.filter(pk=job.pk).exists()


def test_empty_pasted_text_and_an_oversized_upload_are_refused_before_any_job(
    project, case, bob, settings
):
    with pytest.raises(ValidationError) as exc:
        services.import_prepare(project=project, case=case, user=bob, pasted=" \n ")
    assert exc.value.code == "empty"
    settings.UPLOAD_MAX_BYTES = 10
    with pytest.raises(ValidationError) as exc:
        services.import_prepare(
            project=project, case=case, user=bob, upload=SimpleUploadedFile("stor.txt", b"x" * 11)
        )
    assert exc.value.code == "too_big" and "stor.txt" in exc.value.messages[0]
    assert not Job.objects.exists()
