import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from coding import tasks
from coding.models import Job, JobStatus, Sentence, Transcript, Turn, job_fail_if_stale

from . import docs
from .factories import InformantFactory

TEXT = (
    "Kommune: Drammen\n"
    "I: Hvordan er boligtjenesten organisert, f.eks. i forhold til NAV?\n"
    "IP: Vi har 25 ansatte. NAV ligger under samme kommunaldirektør, bl.a. fordi det er "
    "praktisk. Det fungerer godt 😀.\n"
    "I: Og tildelingen?\n"
    "IP: Den skjer i en annen enhet. Det er et svakt punkt."
)


@pytest.fixture
def informant(case):
    return InformantFactory(case=case, pseudonym="Tone Berg", role_title="Leder")


def upload(client, project, case, data: bytes, name: str):
    return client.post(
        reverse("coding:import-upload", args=[project.pk]),
        {"case": case.pk, "file": SimpleUploadedFile(name, data), "title": ""},
    )


def test_a_researcher_imports_a_docx_through_preview_and_job(bob_client, project, case, informant):
    data = docs.make_docx(TEXT.split("\n"))
    r = upload(bob_client, project, case, data, "intervju.docx")
    assert r.status_code == 302
    job = Job.objects.get()
    assert job.status == JobStatus.DRAFT
    assert Transcript.objects.count() == 0, "nothing is saved before the preview is confirmed"

    preview = bob_client.get(r.url)
    assert preview.status_code == 200
    content = preview.content.decode()
    assert "IP" in content and "Kommune: Drammen" in content
    labels = {lab for _k, lab, _n in preview.context["form"].label_fields}
    assert labels == {"I", "IP"}

    fields = preview.context["form"].initial
    post = {
        "title": "Drammen: boligtjenesten",
        "interview_date": "2020-04-16",
        "mode": "video",
        "interviewers": "Astrid Lunde",
        "informants": [informant.pk],
        "tags": "syntetisk, pilot",
    }
    for key, label, _n in preview.context["form"].label_fields:
        post[key] = "interviewer" if label == "I" else f"informant:{informant.pk}"
    assert fields["title"] == "intervju"
    r = bob_client.post(reverse("coding:import-preview", args=[job.pk]), post)
    assert r.status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.message
    t = Transcript.objects.get()
    assert job.transcript == t
    assert t.title == "Drammen: boligtjenesten" and t.mode == "video"
    assert t.interview_date == dt.date(2020, 4, 16)
    assert list(t.informants.all()) == [informant]
    assert set(t.tags.names()) == {"syntetisk", "pilot"}
    turns = list(Turn.objects.filter(transcript=t).order_by("index"))
    assert [x.label for x in turns] == ["", "I", "IP", "I", "IP"]
    assert turns[2].informant == informant and turns[1].is_interviewer
    sentences = [t.text[s.start : s.end] for s in Sentence.objects.filter(turn=turns[2])]
    assert sentences == [
        "Vi har 25 ansatte.",
        "NAV ligger under samme kommunaldirektør, bl.a. fordi det er praktisk.",
        "Det fungerer godt 😀.",
    ]
    page = bob_client.get(reverse("coding:job-detail", args=[job.pk]))
    assert t.get_absolute_url() in page.content.decode()


def test_pasted_text_imports_too(bob_client, project, case):
    r = bob_client.post(
        reverse("coding:import-upload", args=[project.pk]),
        {"case": case.pk, "pasted": TEXT.replace("\n", "\r\n"), "title": "Limt inn"},
    )
    job = Job.objects.get()
    preview = bob_client.get(r.url)
    post = {"title": "Limt inn"}
    for key, _label, _n in preview.context["form"].label_fields:
        post[key] = "interviewer"
    bob_client.post(reverse("coding:import-preview", args=[job.pk]), post)
    t = Transcript.objects.get()
    assert "\r" not in t.text and t.text.startswith("Kommune: Drammen")


@pytest.mark.parametrize(
    ("data", "name", "fragment"),
    [
        (b"", "tom.docx", "tom.docx"),
        (docs.EXE, "program.docx", "program"),
        (docs.OLE_ENCRYPTED, "hemmelig.docx", "password"),
        (docs.zip_bomb(), "bombe.docx", "zip bomb"),
    ],
)
def test_bad_files_get_a_clear_error_and_nothing_is_kept(
    bob_client, project, case, data, name, fragment
):
    r = upload(bob_client, project, case, data, name)
    assert r.status_code == 200
    if data:
        assert fragment in r.content.decode()
    else:  # Django's FileField refuses an empty upload before our reader sees it
        assert "file" in r.context["form"].errors
    assert Job.objects.count() == 0 and Transcript.objects.count() == 0


def test_a_job_that_fails_leaves_nothing_and_says_why(bob_client, project, case, monkeypatch):
    r = upload(bob_client, project, case, docs.make_docx(TEXT.split("\n")), "intervju.docx")
    job = Job.objects.get()
    preview = bob_client.get(r.url)
    post = {"title": "x"}
    for key, _label, _n in preview.context["form"].label_fields:
        post[key] = "interviewer"

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    # Fail after the transcript row would have been written: at the turn and sentence rows.
    monkeypatch.setattr("coding.language.lemma_index.insert_rows", boom)
    bob_client.post(reverse("coding:import-preview", args=[job.pk]), post)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "intervju.docx" in job.message and "Nothing was saved" in job.message
    assert Transcript.objects.count() == 0 and Turn.objects.count() == 0


def test_an_informant_of_another_case_is_refused(bob_client, project, case):
    other = InformantFactory()  # another project's case
    r = upload(bob_client, project, case, docs.make_docx(TEXT.split("\n")), "intervju.docx")
    job = Job.objects.get()
    preview = bob_client.get(r.url)
    post = {"title": "x", "informants": [other.pk]}
    for key, _label, _n in preview.context["form"].label_fields:
        post[key] = "interviewer"
    r = bob_client.post(reverse("coding:import-preview", args=[job.pk]), post)
    assert r.status_code == 200 and "informants" in r.context["form"].errors
    assert Transcript.objects.count() == 0


def test_outsiders_get_404_and_supervisors_403(charlie_client, sue_client, project, case):
    url = reverse("coding:import-upload", args=[project.pk])
    assert charlie_client.get(url).status_code == 404
    assert sue_client.get(url).status_code == 403
    assert sue_client.get(reverse("coding:project-detail", args=[project.pk])).status_code == 200


def test_anonymous_users_are_sent_to_log_in(client, project):
    r = client.get(reverse("coding:project-detail", args=[project.pk]))
    assert r.status_code == 302 and reverse("login") in r.url


def test_a_running_job_whose_worker_died_is_marked_failed(project, settings):
    settings.JOB_STALE_SECONDS = 60
    job = Job.objects.create(
        project=project,
        kind="import",
        status=JobStatus.RUNNING,
        heartbeat_at=timezone.now() - dt.timedelta(seconds=120),
    )
    assert job_fail_if_stale(job)
    assert job.status == JobStatus.FAILED and "start it again" in job.message
    fresh = Job.objects.create(
        project=project, kind="import", status=JobStatus.RUNNING, heartbeat_at=timezone.now()
    )
    assert not job_fail_if_stale(fresh)


def test_the_thread_runner_runs_the_job_beside_the_web_process(
    project, case, bob, transactional_db
):
    from coding import services

    job = services.import_prepare(
        project=project, case=case, user=bob, pasted="I: Hei.\nIP: Hallo."
    )
    job.refresh_from_db()
    assert job.status == JobStatus.DRAFT, "the test runner read the file at once"
    job.params = {
        **job.params,
        "speakers": {"I": {"kind": "interviewer"}},
        "metadata": {},
        "stage": "build",
    }
    job.status = JobStatus.QUEUED
    job.save()
    tasks.run_in_thread(str(job.pk)).join(timeout=60)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.message
    assert job.transcript.text == "I: Hei.\n\nIP: Hallo."
