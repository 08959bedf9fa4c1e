"""coding/views/projects.py, the import's pages: the preview belongs to the draft's uploader
(and owners), follows the job's stage, and a finished job's file is served only when there is
one. Personas: alice owns, bob researches, sue supervises, charlie has no access."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from coding import services
from coding.models import Job, JobKind, JobStatus

PASTED = "I: Hvordan jobber dere?\n\nIP: Vi samarbeider tett med NAV om boliger."


@pytest.fixture
def draft(project, case, bob):
    job = services.import_prepare(
        project=project, case=case, user=bob, pasted=PASTED, title="Intervju"
    )
    job.refresh_from_db()
    assert job.status == JobStatus.DRAFT, job.message
    return job


def _preview(job):
    return reverse("coding:import-preview", args=[job.pk])


def test_the_uploader_and_an_owner_see_the_preview_others_get_404(
    draft, bob_client, alice_client, sue_client, charlie_client
):
    assert bob_client.get(_preview(draft)).status_code == 200
    assert alice_client.get(_preview(draft)).status_code == 200
    assert charlie_client.get(_preview(draft)).status_code == 404
    # The supervisor may not write, so the preview (a confirm form) is not theirs.
    assert sue_client.get(_preview(draft)).status_code == 403


def test_rereading_in_an_unknown_encoding_keeps_the_draft_and_says_why(draft, bob_client):
    r = bob_client.post(_preview(draft), {"encoding": "ebcdic"}, follow=True)
    assert r.redirect_chain[-1][0] == _preview(draft)
    assert "Unknown encoding." in r.content.decode()
    draft.refresh_from_db()
    assert draft.status == JobStatus.DRAFT


def test_a_confirmed_import_sends_the_preview_to_the_job_page(draft, bob_client):
    draft.status = JobStatus.DONE
    draft.save(update_fields=["status"])
    r = bob_client.get(_preview(draft))
    assert r.status_code == 302
    assert r["Location"] == reverse("coding:job-detail", args=[draft.pk])


def test_the_job_page_of_a_draft_leads_to_the_preview_also_for_htmx(draft, bob_client):
    url = reverse("coding:job-detail", args=[draft.pk])
    r = bob_client.get(url)
    assert r.status_code == 302 and r["Location"] == _preview(draft)
    r = bob_client.get(url, headers={"HX-Request": "true"})
    assert r["HX-Redirect"] == _preview(draft)


def _export(project, alice, **fields) -> Job:
    return Job.objects.create(project=project, kind=JobKind.EXPORT, created_by=alice, **fields)


def test_a_job_without_a_finished_file_has_nothing_to_download(
    project, alice, alice_client, charlie_client
):
    running = _export(project, alice, status=JobStatus.RUNNING)
    done_without_file = _export(project, alice, status=JobStatus.DONE)
    for job in (running, done_without_file):
        assert alice_client.get(reverse("coding:job-download", args=[job.pk])).status_code == 404
    done = _export(project, alice, status=JobStatus.DONE, result_name="rapport.docx")
    done.result_file.save("rapport.docx", ContentFile(b"PK docx"), save=True)
    url = reverse("coding:job-download", args=[done.pk])
    assert charlie_client.get(url).status_code == 404
    r = alice_client.get(url)
    assert r.status_code == 200 and b"".join(r.streaming_content) == b"PK docx"
    assert "rapport.docx" in r["Content-Disposition"]
    # The file purged from disk (retention) while the row still names it: 404, not 500.
    done.result_file.storage.delete(done.result_file.name)
    assert alice_client.get(url).status_code == 404
