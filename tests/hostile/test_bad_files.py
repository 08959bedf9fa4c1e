"""Every file of the hostile corpus gets a clear error naming it, and nothing is saved."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from coding import importers
from coding.models import AuditEvent, Excerpt, Job, Sentence, Transcript, Turn

from .corpus import BAD_FILES, HOSTILE_NAMES, HOSTILE_TEXT, IMG, SCRIPT

TABLES = (Job, Transcript, Turn, Sentence, Excerpt, AuditEvent)


@pytest.fixture(autouse=True)
def one_megabyte_uploads(settings):
    settings.UPLOAD_MAX_BYTES = 1024 * 1024


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in TABLES}


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_the_corpus_holds_at_least_25_bad_files():
    assert len(BAD_FILES) >= 25
    assert len({f.name for f in BAD_FILES}) == len(BAD_FILES)


@pytest.mark.parametrize("bad", BAD_FILES, ids=lambda f: f.name)
def test_the_importer_refuses_each_bad_file_with_a_clear_error(bad):
    with pytest.raises(ValidationError) as exc:
        importers.read_document(io.BytesIO(bad.build()), bad.name)
    assert exc.value.code == bad.code, bad.why
    message = exc.value.messages[0]
    assert message.startswith(f"{bad.name}: ") and len(message) > len(bad.name) + 10


@pytest.mark.parametrize("bad", BAD_FILES, ids=lambda f: f.name)
def test_uploading_a_bad_file_shows_the_error_and_saves_nothing(
    bob_client, project, case, bad, settings
):
    before = row_counts()
    r = bob_client.post(
        reverse("coding:import-upload", args=[project.pk]),
        {"case": case.pk, "file": SimpleUploadedFile(bad.name, bad.build()), "title": ""},
    )
    assert r.status_code == 200, "the upload page is shown again"
    form = r.context["form"]
    if bad.code == "empty" and "file" in form.errors:
        # Django's own check of an empty upload speaks first: "The submitted file is empty."
        assert [e.code for e in form.errors.as_data()["file"]] == ["empty"]
    else:
        errors = form.non_field_errors()
        assert len(errors) == 1 and errors[0].startswith(f"{bad.name}: "), errors
        assert bad.name in r.content.decode()
    assert row_counts() == before
    assert stored_files(settings) == [], "the bad file is not kept"


def test_an_xxe_document_never_reads_server_files(bob_client, project, case):
    bad = next(f for f in BAD_FILES if f.name == "xxe.docx")
    r = bob_client.post(
        reverse("coding:import-upload", args=[project.pk]),
        {"case": case.pk, "file": SimpleUploadedFile(bad.name, bad.build())},
    )
    assert "root:" not in r.content.decode()


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=["html", "traversal", "long"])
def test_hostile_file_names_are_stored_safely_and_shown_escaped(
    bob_client, project, case, settings, name
):
    r = bob_client.post(
        reverse("coding:import-upload", args=[project.pk]),
        {"case": case.pk, "file": SimpleUploadedFile(name, "I: Hei.\nIP: Hallo.".encode())},
    )
    assert r.status_code == 302
    job = Job.objects.get()
    assert len(job.input_name) <= 255
    path = Path(job.input_file.path).resolve()
    assert Path(settings.MEDIA_ROOT).resolve() in path.parents, "stored inside MEDIA_ROOT"
    assert ".." not in job.input_file.name
    page = bob_client.get(r.url).content.decode()
    assert IMG not in page
    if name.startswith("<img"):
        assert "&lt;img src=x onerror=" in page


def test_html_and_script_in_a_transcript_import_and_render_escaped(
    bob_client, project, case, codes
):
    r = bob_client.post(
        reverse("coding:import-upload", args=[project.pk]),
        {"case": case.pk, "pasted": "\n".join(HOSTILE_TEXT), "title": SCRIPT},
    )
    assert r.status_code == 302
    preview = bob_client.get(r.url)
    page = preview.content.decode()
    assert SCRIPT not in page and IMG not in page and "<b>fet</b>" not in page
    assert "&lt;script&gt;" in page
    fields = {"title": SCRIPT}
    for key, label, _n in preview.context["form"].label_fields:
        fields[key] = "interviewer" if label == "I" else "none"
    r = bob_client.post(r.url, fields)
    assert r.status_code == 302
    transcript = Transcript.objects.get()
    assert SCRIPT in transcript.text, "the text is kept as written"
    page = bob_client.get(transcript.get_absolute_url()).content.decode()
    for raw in (SCRIPT, IMG, "<b>fet</b>", "<script src=//evil"):
        assert raw not in page
    assert "&lt;script&gt;alert(" in page or "\\u003Cscript\\u003E" in page
    # Template syntax in the text is shown as written, never evaluated.
    assert "og {{ 7*7 }} {% now &quot;Y&quot; %}" in page
    assert "og 49" not in page
