"""The exchange pages: downloads for every member, the owners' upload → preview → confirm."""

import io
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from coding.models import Coding, Job, JobStatus, Project, Transcript

from . import exchange_data
from .test_exchange_import import C1, S1, U1, U2, qde, qdpx, sel


def test_a_supervisor_downloads_the_project_and_the_codebook_but_may_not_import(
    alice, bob, sue, sue_client, project
):
    exchange_data.build(alice, bob, project)
    r = sue_client.get(reverse("coding:exchange-export", args=[project.pk]))
    assert r.status_code == 200 and r["Content-Disposition"].endswith('.qdpx"')
    with zipfile.ZipFile(io.BytesIO(b"".join(r.streaming_content))) as zf:
        assert "project.qde" in zf.namelist()
    r = sue_client.get(reverse("coding:exchange-codebook-export", args=[project.pk]))
    assert r.status_code == 200 and "Forankring og eierskap".encode() in b"".join(
        r.streaming_content
    )
    assert sue_client.get(reverse("coding:exchange-import", args=[project.pk])).status_code == 403


def test_outsiders_get_404_on_every_exchange_page(alice, charlie_client, project):
    for name in ("coding:exchange-export", "coding:exchange-codebook-export"):
        assert charlie_client.get(reverse(name, args=[project.pk])).status_code == 404
    r = charlie_client.post(reverse("coding:exchange-import", args=[project.pk]))
    assert r.status_code == 404


def _two_user_file() -> bytes:
    text = "I: Hvordan går det?\n\nKari: Vi møtes hver uke med NAV.\n\nI: Og så?\n\nKari: Bra."
    s = text.index("Vi møtes")
    body = (
        f'<Sources><TextSource guid="{S1}" name="Intervju Kari">'
        f"<PlainTextContent>{text}</PlainTextContent>"
        + sel(s, s + 8, code=C1, user=U1, guid="5e1ec700-0000-4000-8000-00000000000a")
        + sel(s, s + 17, code=C1, user=U2, guid="5e1ec700-0000-4000-8000-00000000000b")
        + "</TextSource>"
        '<AudioSource guid="5005ce04-0000-4000-8000-000000000004" name="Opptak"/></Sources>'
    )
    return qdpx(qde(body)).getvalue()


def test_an_owner_uploads_previews_maps_users_and_confirms(alice, bob, alice_client, project):
    upload = SimpleUploadedFile("fra-nvivo.qdpx", _two_user_file())
    r = alice_client.post(reverse("coding:exchange-import", args=[project.pk]), {"file": upload})
    assert r.status_code == 302
    job = Job.objects.get(kind="exchange_import")
    assert job.status == JobStatus.DRAFT and not Project.objects.filter(name="Fra NVivo").exists()
    r = alice_client.get(r.url)
    page = r.content.decode()
    assert "1 source" in page and "2 codings" in page and "Kari Nordmann 1" in page
    assert "Opptak" in page and "only text sources" in page  # left out, and why
    form = r.context["form"]
    keys = {form.fields[k].label: k for k, _g in form.user_fields}
    # The speaker labels found in the sources, with their turns, proposed as ordinary import
    # would: "I" asks.
    spk = {group.label: key for key, group in form.label_fields}
    assert {g.label: (len(g.sources), g.turns) for _k, g in form.label_fields} == {
        "I": (1, 2),
        "Kari": (1, 2),
    }
    assert form.fields[spk["I"]].initial == "interviewer"
    assert form.fields[spk["Kari"]].initial == "speaker"
    r = alice_client.post(
        reverse("coding:exchange-preview", args=[job.pk]),
        {
            "target": "new",
            "new_project_name": "Fra NVivo",
            "codes": "merge",
            keys["Kari Nordmann"]: str(bob.pk),
            keys["Ola"]: "name",
            spk["I"]: "interviewer",
            spk["Kari"]: "none",  # the owner says "Kari:" is no speaker label after all
        },
    )
    assert r.status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.message
    new = Project.objects.get(name="Fra NVivo")
    page = alice_client.get(reverse("coding:job-detail", args=[job.pk])).content.decode()
    assert reverse("coding:project-detail", args=[new.pk]) in page and "Opptak" in page
    assert new.memberships.get(user=alice).role == "owner"
    coders = sorted(
        c.coder.first_name or c.coder.username
        for c in Coding.objects.filter(tag__codebook__project=new)
    )
    assert coders == ["Ola", "bob"]
    # "Coder name only": Ola's codings carry an account that is no member of the project.
    assert not new.memberships.filter(user__first_name="Ola").exists()
    t = Transcript.objects.get(case__project=new)
    assert t.turns.filter(label="I", is_interviewer=True).exists()
    assert not t.turns.filter(label="Kari").exists()


def test_a_hostile_upload_is_refused_on_the_upload_page(alice, alice_client, project):
    data = qdpx(qde(""), {"../evil.txt": b"x"}).getvalue()
    r = alice_client.post(
        reverse("coding:exchange-import", args=[project.pk]),
        {"file": SimpleUploadedFile("x.qdpx", data)},
    )
    assert r.status_code == 200 and "leads outside" in r.content.decode()
    assert not Job.objects.filter(kind="exchange_import").exists()


def test_a_researcher_cannot_reach_an_exchange_draft_through_the_transcript_preview(
    alice, bob, alice_client, bob_client, project
):
    upload = SimpleUploadedFile("fra-nvivo.qdpx", _two_user_file())
    alice_client.post(reverse("coding:exchange-import", args=[project.pk]), {"file": upload})
    job = Job.objects.get(kind="exchange_import")
    r = bob_client.get(reverse("coding:import-preview", args=[job.pk]))
    assert r.status_code == 302 and r.url == reverse("coding:exchange-preview", args=[job.pk])
    assert bob_client.get(r.url).status_code == 403
