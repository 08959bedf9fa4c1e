"""Huge and hostile uploads: never a crash, never a memory blow-up, never a false message.

Every file is generated here (tests/hostile/huge.py). Each refusal names the file and the
problem, leaves the row counts as they were, and keeps no file; memory is measured as the
resident high-water mark of a subprocess doing the work (a bound, not a timing).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation

from coding import importers, nlp, services, tasks
from coding.benchmarks import hostile_files as huge
from coding.models import (
    AuditEvent,
    Coding,
    Excerpt,
    Informant,
    Job,
    JobStatus,
    Level,
    Memo,
    Role,
    Sentence,
    Transcript,
    Turn,
)

from ..factories import InformantFactory, UserFactory

TABLES = (Job, Transcript, Turn, Sentence, Excerpt, Coding, Memo, AuditEvent)
ROOT = Path(__file__).resolve().parents[2]


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in TABLES}


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@dataclass(frozen=True)
class Huge:
    name: str
    build: Callable[[], bytes]
    code: str
    says: str  # a fragment of the English message


def _too_much_text() -> bytes:
    par = b"IP: " + b"ord " * 24_000 + b"\n\n"  # ~96,000 characters a paragraph
    return par * 16


REFUSED = [
    Huge("lying-directory.docx", huge.lying_docx, "zip_bomb", "zip bomb"),
    Huge(
        "million-paragraphs.docx",
        lambda: huge.docx_paragraphs(1_000_000),
        "too_many_paragraphs",
        "20,000 paragraphs",
    ),
    Huge(
        "million-paragraphs.txt",
        lambda: b"ord ord o\n" * 1_000_000,
        "too_many_paragraphs",
        "20,000 paragraphs",
    ),
    Huge(
        "million-paragraphs.odt",
        lambda: huge.odt("".join(f"<text:p>{i}</text:p>" for i in range(1_000_000))),
        "too_many_paragraphs",
        "20,000 paragraphs",
    ),
    Huge(
        "six-million-characters.txt",
        huge.long_paragraph,
        "paragraph_too_long",
        "100,000 characters",
    ),
    Huge("three-million-characters.txt", _too_much_text, "text_too_long", "1,500,000 characters"),
    Huge(
        "space-count-not-a-number.odt",
        lambda: huge.odt_space_bomb("mange"),
        "corrupt",
        "space count",
    ),
    Huge("space-count-negative.odt", lambda: huge.odt_space_bomb("-5e9"), "corrupt", "space count"),
    Huge("nested-spans.odt", lambda: huge.odt_nested("span"), "too_deep", "100 levels"),
    Huge("nested-sections.odt", lambda: huge.odt_nested("section"), "too_deep", "100 levels"),
    Huge(
        "nested-content-controls.docx",
        lambda: huge.docx_with_body(
            "<w:sdt><w:sdtContent>" * 3000 + "<w:p/>" + "</w:sdtContent></w:sdt>" * 3000
        ),
        "too_deep",
        "100 levels",
    ),
    Huge("doctype-after-8k.docx", huge.doctype_after_8k, "corrupt", "damaged"),
    Huge(
        "doctype-in-content.odt",
        lambda: huge.odt('<!DOCTYPE x [<!ENTITY e "lol">]>'),
        "corrupt",
        "damaged",
    ),
    Huge("truncated-member.docx", lambda: huge.docx_paragraphs(200)[:-300], "corrupt", "damaged"),
]


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.mark.parametrize("bad", REFUSED, ids=lambda f: f.name)
def test_the_reader_refuses_each_huge_file_early_with_a_message_naming_the_problem(bad):
    with pytest.raises(ValidationError) as exc:
        importers.read_document(io.BytesIO(bad.build()), bad.name)
    assert exc.value.code == bad.code
    message = exc.value.messages[0]
    assert message.startswith(f"{bad.name}: ") and bad.says in message, message


def test_pasted_text_has_the_same_limits():
    with pytest.raises(ValidationError) as exc:
        importers.parse_pasted("a\n" * 30_000, "limt inn")
    assert exc.value.code == "too_many_paragraphs"


@pytest.mark.parametrize(
    "bad",
    [
        b
        for b in REFUSED
        if b.name.startswith(("million-paragraphs.docx", "six", "nested-spans", "lying"))
    ],
    ids=lambda f: f.name,
)
def test_uploading_a_huge_file_shows_the_message_and_keeps_nothing(
    bob_client, project, case, bad, settings
):
    before = row_counts()
    r = bob_client.post(
        reverse("coding:import-upload", args=[project.pk]),
        {"case": case.pk, "file": SimpleUploadedFile(bad.name, bad.build())},
    )
    assert r.status_code == 200
    errors = r.context["form"].non_field_errors()
    assert len(errors) == 1 and errors[0].startswith(f"{bad.name}: ") and bad.says in errors[0]
    assert row_counts() == before
    assert stored_files(settings) == []


# --- accepted, but bounded -------------------------------------------------------------------


def test_a_433_byte_space_bomb_is_read_with_the_count_capped():
    data = huge.odt_space_bomb("200000000")
    assert len(data) < 600
    doc = importers.read_document(io.BytesIO(data), "mellomrom.odt")
    assert len(doc.paragraphs) == 1
    assert doc.paragraphs[0].text.startswith("IP: Hei") and doc.paragraphs[0].text.endswith("du.")
    assert len(doc.paragraphs[0].text) <= 10 + importers.MAX_SPACE_RUN


def test_a_transcript_whose_first_label_is_mz_is_a_transcript_not_a_program():
    doc = importers.read_document(io.BytesIO(huge.mz_label()), "mz.txt")
    assert ("MZ", 2) in importers.detect_speakers(doc)


def test_a_real_program_header_is_still_refused():
    with pytest.raises(ValidationError) as exc:
        importers.read_document(io.BytesIO(b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 60), "x.txt")
    assert exc.value.code == "wrong_type"


def test_a_long_word_is_its_own_lemma_without_trying_every_split():
    word = "a" * 400_000
    with mock.patch.object(nlp, "_lookup", wraps=nlp._lookup) as lookup:
        assert nlp.lemmatize(word) == word
    assert lookup.call_count == 0, "no compound split is tried above MAX_LEMMA_CHARS"
    with mock.patch.object(nlp, "_lookup", wraps=nlp._lookup) as lookup:
        nlp.lemmatize("b" * nlp.MAX_LEMMA_CHARS)
    assert lookup.call_count <= 2 * nlp.MAX_LEMMA_CHARS, "bounded below the cap"
    assert nlp.lemmatize("startlånet") == "startlån", "ordinary compounds still split"


def test_a_90000_letter_word_imports(bob_client, project, case, codes):
    r = bob_client.post(
        reverse("coding:import-upload", args=[project.pk]),
        {"case": case.pk, "file": SimpleUploadedFile("ord.txt", huge.long_word(90_000))},
    )
    assert r.status_code == 302
    preview = bob_client.get(r.url)
    fields = {"title": "Ord"}
    for key, label, _n in preview.context["form"].label_fields:
        fields[key] = "interviewer" if label == "I" else "none"
    r = bob_client.post(r.url, fields)
    job = Job.objects.get()
    assert job.status == JobStatus.DONE, job.message
    assert "a" * 90_000 in job.transcript.text


def test_a_file_with_1500_speaker_labels_previews_and_imports(bob_client, project, case):
    r = bob_client.post(
        reverse("coding:import-upload", args=[project.pk]),
        {"case": case.pk, "file": SimpleUploadedFile("fokus.txt", huge.many_labels(1500))},
    )
    assert r.status_code == 302
    preview = bob_client.get(r.url)
    form = preview.context["form"]
    assert len(form.label_fields) == 60 and form.labels_left_as_text == 1440
    assert "1440 rarer labels are kept as text." in preview.content.decode()
    fields = {"title": "Fokusgruppe"}
    fields.update({key: "interviewer" for key, _label, _n in form.label_fields})
    r = bob_client.post(r.url, fields)
    assert r.status_code == 302, "fewer fields than DATA_UPLOAD_MAX_NUMBER_FIELDS"
    job = Job.objects.get()
    assert job.status == JobStatus.DONE, job.message
    assert job.transcript.turns.filter(is_interviewer=True).count() == 120


def test_a_mostly_utf8_file_with_one_bad_byte_says_so_and_can_be_read_as_utf8(
    bob_client, project, case
):
    r = bob_client.post(
        reverse("coding:import-upload", args=[project.pk]),
        {"case": case.pk, "file": SimpleUploadedFile("ødelagt.txt", huge.utf8_with_one_bad_byte())},
    )
    page = bob_client.get(r.url)
    html = page.content.decode()
    assert "except for 1 byte that is not, so it was read as Windows-1252" in html
    assert "gÃ¥r" in html, "what the guess made of it is shown, not hidden"
    r = bob_client.post(r.url, {"encoding": "utf-8"})
    assert r.status_code == 302
    page = bob_client.get(r.url)
    html = page.content.decode()
    assert "går" in html and "gÃ¥r" not in html and "Tøyen" in html
    assert "read it as UTF-8" not in html
    assert Job.objects.get().params["encoding"] == "utf-8"


def test_the_import_reads_the_file_once_in_its_job(bob_client, project, case):
    calls = []
    real = importers.read_document

    def counting(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    with mock.patch.object(importers, "read_document", counting):
        r = bob_client.post(
            reverse("coding:import-upload", args=[project.pk]),
            {"case": case.pk, "file": SimpleUploadedFile("en.txt", b"I: Hei?\n\nIP: Hallo.")},
        )
        preview = bob_client.get(r.url)
        fields = {"title": "En"}
        for key, label, _n in preview.context["form"].label_fields:
            fields[key] = "interviewer" if label == "I" else "none"
        bob_client.post(r.url, fields)
    assert calls == ["en.txt"], "upload, preview and confirm share one parse"
    job = Job.objects.get()
    assert job.status == JobStatus.DONE and not job.result_file, "the parse notes are gone"


# --- a job marked failed never commits afterwards ----------------------------------------------


def _queued_import(project, case, bob) -> Job:
    job = services.import_prepare(project=project, case=case, user=bob, pasted="I: Hei?\nIP: Ja.")
    job.refresh_from_db()
    job.params = {
        **job.params,
        "speakers": {"I": {"kind": "interviewer"}, "IP": {"kind": "none"}},
        "metadata": {},
        "stage": "build",
    }
    job.status = JobStatus.QUEUED
    job.save()
    return job


def test_an_import_marked_failed_while_it_works_saves_nothing_and_stays_failed(project, case, bob):
    job = _queued_import(project, case, bob)
    before = row_counts()
    real = nlp.split_sentences

    def stale_meanwhile(*args, **kwargs):
        out = real(*args, **kwargs)
        # The worker looks dead to the stale check (as during an 18-minute import).
        Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, message="stopped")
        return out

    with mock.patch.object(nlp, "split_sentences", stale_meanwhile):
        tasks.run_job(str(job.pk))
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.message == "stopped", "the message stays true"
    assert job.transcript is None
    assert row_counts() == before, "nothing was saved, as the message says"


def test_an_attempt_overtaken_by_a_rerun_never_commits(project, case, bob):
    job = _queued_import(project, case, bob)
    before = row_counts()
    real = nlp.split_sentences

    def rerun_meanwhile(*args, **kwargs):
        out = real(*args, **kwargs)
        Job.objects.filter(pk=job.pk).update(attempts=job.attempts + 5)  # another worker took it
        return out

    with mock.patch.object(nlp, "split_sentences", rerun_meanwhile):
        tasks.run_job(str(job.pk))
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING, "left to the attempt that owns it"
    assert row_counts() == before


def test_the_heartbeat_beats_during_a_long_step_whose_percentage_does_not_move(project, bob):
    job = Job.objects.create(project=project, kind="import", status=JobStatus.RUNNING)
    beat = tasks._progress_updater(job)
    clock = [1000.0]
    with mock.patch.object(tasks.time, "monotonic", lambda: clock[0]):
        beat(20)
        first = Job.objects.get(pk=job.pk).heartbeat_at
        beat(20)
        assert Job.objects.get(pk=job.pk).heartbeat_at == first, "throttled"
        clock[0] += tasks.HEARTBEAT_SECONDS + 1
        beat(20)
        assert Job.objects.get(pk=job.pk).heartbeat_at > first


# --- nobody's writes wait for an import ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_others_code_while_a_million_paragraph_file_is_read(settings, project, case, codes, bob):
    settings.JOB_RUNNER = "thread"
    coder = UserFactory(username="kari")
    project.memberships.create(user=coder, role=Role.RESEARCHER)
    transcript = services.transcript_create(
        case=case,
        doc=importers.parse_pasted("I: Hvordan går det med boligene?", "x"),
        title="Annet",
        speakers={"I": {"kind": "interviewer"}},
        user=coder,
    )
    reading, coded = threading.Event(), threading.Event()
    real_add = importers._Collector.add

    def add(self, par):
        if len(self.paragraphs) == 1000 and not reading.is_set():
            reading.set()
            assert coded.wait(60), "the coding finished while the file was being read"
        return real_add(self, par)

    uploader = Client()
    uploader.force_login(bob)
    other = Client()
    other.force_login(coder)
    threads = []
    real_thread = tasks.run_in_thread

    def keep(job_id):
        t = real_thread(job_id)
        threads.append(t)
        return t

    with (
        mock.patch.object(importers._Collector, "add", add),
        mock.patch.object(tasks, "run_in_thread", keep),
    ):
        r = uploader.post(
            reverse("coding:import-upload", args=[project.pk]),
            {"case": case.pk, "file": SimpleUploadedFile("million.txt", b"a\n\n" * 1_000_000)},
        )
        assert r.status_code == 302, "the upload only stores the file"
        assert reading.wait(60)
        s = transcript.text.index("boligene")
        r = other.post(
            reverse("coding:workspace-code", args=[transcript.pk]),
            {"start": s, "end": s + 8, "code": [codes[0].pk]},
        )
        coded.set()
        for t in threads:
            t.join(120)
    assert r.status_code == 200, r.content[:300]
    assert Coding.objects.filter(coder=coder).count() == 1
    job = Job.objects.get(input_name="million.txt")
    assert job.status == JobStatus.FAILED
    assert "more than 20,000 paragraphs" in job.message
    assert not job.input_file, "the refused file is not kept"
    assert Transcript.objects.count() == 1


# --- memory: a bound on the resident high-water mark of a subprocess --------------------------

MEMORY_BOUND_MB = 300
PROBE = r"""
import io, json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casestudy.settings")
os.environ["DEBUG"] = "1"
import django
django.setup()
from django.core.exceptions import ValidationError
from coding import importers, nlp

def kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])

importers.read_document(io.BytesIO(b"I: Hei.\n\nIP: Ja."), "warm.txt")
nlp.split_sentences("IP: Ja. Takk.", [(0, 13)])
path, name = sys.argv[1], sys.argv[2]
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")
start = kb("VmRSS")
code = "accepted"
try:
    with open(path, "rb") as fh:
        doc = importers.read_document(fh, name)
    text, turns = importers.build_text_and_turns(doc, {"IP", "I"})
    nlp.split_sentences(text, [(t.content_start, t.end) for t in turns])
except ValidationError as exc:
    code = exc.code
print(json.dumps({"mb": (kb("VmHWM") - start) / 1024, "code": code}))
"""

MEMORY_CASES = [
    ("lying-directory.docx", huge.lying_docx, "zip_bomb"),
    ("million-paragraphs.docx", lambda: huge.docx_paragraphs(1_000_000), "too_many_paragraphs"),
    ("million-paragraphs-12mb.txt", lambda: b"ord ord o\n\n" * 1_100_000, "too_many_paragraphs"),
    ("space-bomb.odt", huge.odt_space_bomb, "accepted"),
    ("six-million-characters.txt", huge.long_paragraph, "paragraph_too_long"),
    (
        "twenty-mb-of-words.txt",
        lambda: (b"IP: " + b"ord " * 250 + b"\n\n") * 19_500,
        "text_too_long",
    ),
    (
        "largest-accepted.txt",
        lambda: (b"IP: Dette er en setning om boliger. " * 2 + b"\n\n") * 19_000,
        "accepted",
    ),
]


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize(("name", "build", "code"), MEMORY_CASES, ids=[c[0] for c in MEMORY_CASES])
def test_memory_stays_bounded_for_any_upload_within_the_size_limit(tmp_path, name, build, code):
    path = tmp_path / name
    path.write_bytes(build())
    assert path.stat().st_size <= 20 * 1024 * 1024
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(path), name],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["code"] == code
    assert result["mb"] <= MEMORY_BOUND_MB, f"{name}: +{result['mb']:.0f} MB"


# --- requests ---------------------------------------------------------------------------------


def test_a_nul_byte_in_an_excerpt_memo_is_refused_on_every_database(bob_client, case, codes, bob):
    t = services.transcript_create(
        case=case,
        doc=importers.parse_pasted("I: Hvordan går det?", "x"),
        title="x",
        speakers={"I": {"kind": "interviewer"}},
        user=bob,
    )
    excerpt, _ = services.excerpt_code(transcript=t, start=3, end=10, codes=codes[:1], coder=bob)
    before = row_counts()
    r = bob_client.post(reverse("coding:workspace-memo", args=[excerpt.pk]), {"text": "a\x00b"})
    assert r.status_code == 400 and "Null characters are not allowed" in r.json()["error"]
    assert row_counts() == before


def test_an_upload_declared_too_large_gets_the_apps_own_page(bob_client, project, settings):
    settings.UPLOAD_MAX_BYTES = 1024 * 1024
    before = row_counts()
    body = b"x" * (8 * 1024 * 1024)  # beyond the limit and the form margin; read, not cut
    r = bob_client.generic(
        "POST",
        reverse("coding:import-upload", args=[project.pk]),
        data=body,
        content_type="multipart/form-data; boundary=x",
    )
    assert r.status_code == 413
    html = r.content.decode()
    assert r["Content-Type"].startswith("text/html")
    assert 'class="topbar"' in html, "with the app's layout"
    assert "The upload is 8.0 MB; files may be at most 1 MB. Nothing was saved." in html
    assert row_counts() == before


@pytest.fixture
def rita(project):
    user = UserFactory(username="rita")
    project.memberships.create(user=user, role=Role.RESEARCHER)
    client = Client()
    client.force_login(user)
    return client


def test_another_researchers_draft_import_is_not_found(
    bob_client, rita, alice_client, project, case
):
    r = bob_client.post(
        reverse("coding:import-upload", args=[project.pk]),
        {"case": case.pk, "pasted": "I: Hei?\nIP: Hemmelig svar."},
    )
    preview = r.url
    job = Job.objects.get()
    assert rita.get(preview).status_code == 404
    assert rita.get(reverse("coding:job-detail", args=[job.pk])).status_code == 404
    assert rita.post(preview, {"title": "x"}).status_code == 404
    assert alice_client.get(preview).status_code == 200, "owners see drafts"
    assert bob_client.get(preview).status_code == 200
    assert Job.objects.get().status == JobStatus.DRAFT


# --- the preview in a case with informants (issue 18, item 7) --------------------------------


def test_the_preview_maps_ip_to_an_informant_and_reads_date_and_mode_from_the_header(
    bob_client, project, case
):
    InformantFactory(case=case, pseudonym="Tone Berg", role_title="Boligleder")
    InformantFactory(case=case, pseudonym="Per Dahl", role_title="NAV-leder")
    text = (
        "Intervju med boligleder, 12.03.2019, telefon\n"
        "I: Hvordan jobber dere?\nIP: Vi samarbeider.\nI: Med hvem?\nIP: Med NAV."
    )
    r = bob_client.post(
        reverse("coding:import-upload", args=[project.pk]), {"case": case.pk, "pasted": text}
    )
    preview = bob_client.get(r.url)
    form = preview.context["form"]
    initial = {label: form.fields[key].initial for key, label, _n in form.label_fields}
    assert initial["IP"].startswith("informant:"), "never 'not a speaker' by default"
    assert initial["I"] == "interviewer"
    assert str(form["interview_date"].value()) == "2019-03-12"
    assert form["mode"].value() == "phone"
    html = preview.content.decode()
    add = reverse("coding:informant-create", args=[case.pk]) + "?next="
    assert add in html


def test_a_missing_informant_is_added_from_the_preview_and_offered_back_there(
    bob_client, project, case
):
    InformantFactory(case=case, pseudonym="Tone Berg")
    InformantFactory(case=case, pseudonym="Per Dahl")
    r = bob_client.post(
        reverse("coding:import-upload", args=[project.pk]),
        {"case": case.pk, "pasted": "I: Hei?\nKari: Hallo.\nI: Og?\nKari: Ja."},
    )
    preview_url = r.url
    add = reverse("coding:informant-create", args=[case.pk]) + f"?next={preview_url}&pseudonym=Kari"
    assert bob_client.get(add).context["form"]["pseudonym"].value() == "Kari"
    r = bob_client.post(
        add, {"pseudonym": "Kari", "role_title": "Beboer", "level": Level.choices[0][0]}
    )
    assert r.status_code == 302 and r.url == preview_url
    kari = Informant.objects.get(pseudonym="Kari")
    form = bob_client.get(preview_url).context["form"]
    initial = {label: form.fields[key].initial for key, label, _n in form.label_fields}
    assert initial["Kari"] == f"informant:{kari.pk}"
    r = bob_client.post(
        add.replace(preview_url, "https://evil.example/"),
        {"pseudonym": "Ola", "level": Level.choices[0][0]},
    )
    assert r.url == case.get_absolute_url(), "no open redirect"


def test_a_word_template_whose_zip_lies_about_its_sizes_is_refused():
    from coding.exports.template import check_template

    with pytest.raises(ValidationError) as exc:
        check_template(io.BytesIO(huge.lying_docx()), "mal.docx")
    assert exc.value.code == "zip_bomb" and exc.value.messages[0].startswith("mal.docx: ")


def test_a_word_template_with_a_long_text_is_refused_before_python_docx_parses_it():
    from coding.exports.template import check_template

    data = huge.docx_paragraphs(300_000)  # about 14 MB of XML, honestly declared
    with pytest.raises(ValidationError) as exc:
        check_template(io.BytesIO(data), "stor.docx")
    assert exc.value.code == "too_big"
    assert "a template may hold at most 8 MB" in exc.value.messages[0]


TEMPLATE_PROBE = r"""
import io, json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casestudy.settings")
os.environ["DEBUG"] = "1"
import django
django.setup()
import docx
from coding.exports.template import check_template

def kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])

with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")
start = kb("VmRSS")
with open(sys.argv[1], "rb") as fh:
    docx.Document(io.BytesIO(check_template(fh, "mal.docx")))
print(json.dumps({"mb": (kb("VmHWM") - start) / 1024}))
"""


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_the_largest_accepted_word_template_stays_within_the_memory_bound(tmp_path):
    path = tmp_path / "mal.docx"
    path.write_bytes(huge.docx_paragraphs(170_000))  # just under the 8 MB of XML
    out = subprocess.run(
        [sys.executable, "-c", TEMPLATE_PROBE, str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=True,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1])["mb"] <= MEMORY_BOUND_MB


def test_open_zip_safely_is_the_public_check_other_importers_call():
    safe = importers.open_zip_safely(huge.docx_paragraphs(3), "ok.docx")
    assert "word/document.xml" in safe.names and not safe.declares_dtd
    assert b"<w:t>2 " in safe.read("word/document.xml")
    with pytest.raises(ValidationError) as exc:
        importers.open_zip_safely(huge.lying_docx(), "x.qdpx")
    assert exc.value.code == "zip_bomb"
