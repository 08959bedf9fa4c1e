"""Hostile and broken requests: each gets a clear refusal and leaves the database as it was."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from coding import services
from coding.models import (
    AuditEvent,
    Code,
    Coding,
    Excerpt,
    Job,
    Membership,
    Memo,
    Transcript,
)

from ..factories import CaseFactory, CodebookFactory, CodeFactory, InformantFactory, ProjectFactory
from .corpus import IMG, SCRIPT

TABLES = (Excerpt, Coding, Memo, Code, Job, Transcript, Membership, AuditEvent)


def snapshot() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in TABLES}


@pytest.fixture
def transcript(case, codes, bob):
    # "😀" is two UTF-16 units: offsets inside it are refused.
    doc_text = "I: Hvordan går det?\nIP: Bra 😀 takk. Vi samarbeider med NAV."
    from coding import importers

    return services.transcript_create(
        case=case,
        doc=importers.parse_pasted(doc_text, "x"),
        title="Intervju",
        speakers={"I": {"kind": "interviewer"}, "IP": {"kind": "none"}},
        user=bob,
    )


@pytest.fixture
def other_project():
    """A project bob is not in, with objects whose ids he may try."""
    project = ProjectFactory(name="Annet prosjekt")
    codebook = CodebookFactory(project=project)
    case = CaseFactory(project=project)
    from .. import factories

    transcript = factories.TranscriptFactory(case=case)
    code = CodeFactory(codebook=codebook, name="Fremmed")
    excerpt, _ = services.excerpt_code(
        transcript=transcript, start=0, end=5, codes=[code], coder=factories.UserFactory()
    )
    return {"project": project, "code": code, "transcript": transcript, "excerpt": excerpt}


def code_post(client, transcript, start, end, code_ids):
    return client.post(
        reverse("coding:workspace-code", args=[transcript.pk]),
        {"start": start, "end": end, "code": code_ids},
    )


# Offsets are UTF-16 units, as the browser counts them.
BAD_SPANS = [
    pytest.param(0, 10_000, id="end-beyond-the-text"),
    pytest.param(-5, 4, id="negative-start"),
    pytest.param(12, 4, id="reversed"),
    pytest.param(7, 7, id="empty"),
    pytest.param("abc", 4, id="not-a-number"),
    pytest.param("1.5", 4, id="a-fraction"),
    pytest.param("", 4, id="blank"),
    pytest.param(str(10**30), str(10**30 + 5), id="astronomical"),
    pytest.param("٣", 5, id="arabic-indic-digit"),
    pytest.param(19, 20, id="only-white-space"),
]


@pytest.mark.parametrize(("start", "end"), BAD_SPANS)
def test_bad_offsets_are_refused_with_a_message_and_save_nothing(
    bob_client, transcript, codes, start, end
):
    before = snapshot()
    r = code_post(bob_client, transcript, start, end, [codes[0].pk])
    assert r.status_code == 400
    assert r.json()["error"]
    assert snapshot() == before


def test_an_offset_inside_an_emoji_is_refused(bob_client, transcript, codes):
    emoji_u16 = transcript.text.encode("utf-16-le").find("😀".encode("utf-16-le")) // 2
    before = snapshot()
    r = code_post(bob_client, transcript, emoji_u16 + 1, emoji_u16 + 6, [codes[0].pk])
    assert r.status_code == 400
    assert snapshot() == before


def test_a_code_of_another_project_is_404_and_nothing_is_saved(
    bob_client, transcript, codes, other_project
):
    before = snapshot()
    r = code_post(bob_client, transcript, 0, 5, [codes[0].pk, other_project["code"].pk])
    assert r.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize(
    ("url_name", "key"),
    [
        ("coding:transcript-detail", "transcript"),
        ("coding:transcript-history", "transcript"),
        ("coding:workspace-codings", "transcript"),
        ("coding:workspace-excerpt", "excerpt"),
    ],
)
def test_ids_of_another_project_are_404(bob_client, other_project, url_name, key):
    assert bob_client.get(reverse(url_name, args=[other_project[key].pk])).status_code == 404


def test_writing_into_another_projects_objects_is_404(bob_client, other_project):
    before = snapshot()
    t, e = other_project["transcript"], other_project["excerpt"]
    assert code_post(bob_client, t, 0, 5, [other_project["code"].pk]).status_code == 404
    r = bob_client.post(reverse("coding:workspace-memo", args=[e.pk]), {"text": "Hei"})
    assert r.status_code == 404
    r = bob_client.post(reverse("coding:workspace-resize", args=[e.pk]), {"start": 0, "end": 3})
    assert r.status_code == 404
    coding = e.codings.get()
    assert bob_client.post(reverse("coding:workspace-uncode", args=[coding.pk])).status_code == 404
    assert snapshot() == before


def test_an_import_into_a_case_of_another_project_is_refused(bob_client, project, other_project):
    foreign_case = other_project["transcript"].case
    before = snapshot()
    r = bob_client.post(
        reverse("coding:import-upload", args=[project.pk]),
        {"case": foreign_case.pk, "pasted": "I: Hei."},
    )
    assert r.status_code == 200 and "case" in r.context["form"].errors
    assert snapshot() == before


def test_an_informant_of_another_case_cannot_be_named_in_the_import(bob_client, project, case):
    stranger = InformantFactory(case=CaseFactory(project=project, name="Sandnes"))
    r = bob_client.post(
        reverse("coding:import-upload", args=[project.pk]),
        {"case": case.pk, "pasted": "I: Hei.\nIP: Hallo."},
    )
    preview_url = r.url
    before = snapshot()
    r = bob_client.post(
        preview_url,
        {
            "title": "x",
            "informants": [stranger.pk],
            "speaker_0": "interviewer",
            "speaker_1": f"informant:{stranger.pk}",
        },
    )
    assert r.status_code == 200 and r.context["form"].errors
    assert snapshot() == before


@pytest.mark.parametrize("job_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_unknown_or_malformed_job_ids_are_404(bob_client, job_id):
    assert bob_client.get(f"/jobs/{job_id}/").status_code == 404


def test_a_job_of_another_project_is_404(bob_client, other_project):
    job = Job.objects.create(project=other_project["project"], kind="export", status="done")
    assert bob_client.get(reverse("coding:job-detail", args=[job.pk])).status_code == 404
    assert bob_client.get(reverse("coding:job-download", args=[job.pk])).status_code == 404


def test_an_oversized_memo_is_refused_and_nothing_is_saved(
    bob_client, transcript, codes, bob, settings
):
    settings.MEMO_MAX_CHARS = 1000
    excerpt, _ = services.excerpt_code(
        transcript=transcript, start=3, end=10, codes=codes[:1], coder=bob
    )
    before = snapshot()
    r = bob_client.post(reverse("coding:workspace-memo", args=[excerpt.pk]), {"text": "x" * 1001})
    assert r.status_code == 400 and "1000" in r.json()["error"]
    r = bob_client.post(
        reverse("coding:project-memo-add", args=[transcript.case.project_id]), {"text": "x" * 1001}
    )
    assert r.status_code in (200, 400)
    assert snapshot() == before


def test_a_request_body_beyond_the_limit_is_refused(bob_client, transcript, settings):
    settings.UPLOAD_MAX_BYTES = 1024 * 1024
    before = snapshot()
    r = bob_client.post(
        reverse("coding:workspace-memo", args=[1]),
        data=b"text=" + b"x" * (7 * 1024 * 1024),
        content_type="application/x-www-form-urlencoded",
    )
    assert r.status_code == 413
    assert snapshot() == before


def test_an_oversized_code_name_is_refused(bob_client, project, codebook):
    before = snapshot()
    r = bob_client.post(
        reverse("coding:codebook-add", args=[project.pk]), {"name": "K" * 500, "color": "#123456"}
    )
    assert r.status_code in (200, 400)
    assert snapshot() == before


@pytest.fixture
def csrf_bob(bob):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    return client


@pytest.fixture
def csrf_alice(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


def test_posts_without_a_csrf_token_are_refused(
    csrf_bob, csrf_alice, project, case, transcript, codes
):
    excerpt = Excerpt.objects.create(transcript=transcript, start=3, end=10, text="x")
    before = snapshot()
    attempts = [
        (
            csrf_bob,
            reverse("coding:workspace-code", args=[transcript.pk]),
            {"start": 3, "end": 9, "code": codes[0].pk},
        ),
        (csrf_bob, reverse("coding:workspace-memo", args=[excerpt.pk]), {"text": "Hei"}),
        (
            csrf_bob,
            reverse("coding:import-upload", args=[project.pk]),
            {"case": case.pk, "pasted": "I: x"},
        ),
        (
            csrf_bob,
            reverse("coding:codebook-add", args=[project.pk]),
            {"name": "Ny", "color": "#123456"},
        ),
        (csrf_bob, reverse("coding:project-memo-add", args=[project.pk]), {"text": "Hei"}),
        (
            csrf_alice,
            reverse("coding:member-add", args=[project.pk]),
            {"username": "bob", "role": "owner"},
        ),
        (csrf_alice, reverse("coding:codebook-delete", args=[codes[0].pk]), {}),
        (csrf_alice, reverse("logout"), {}),
    ]
    for client, url, data in attempts:
        r = client.post(url, data)
        assert r.status_code == 403, url
    assert snapshot() == before
    # With the token from a page the same post goes through.
    csrf_bob.get(reverse("coding:transcript-detail", args=[transcript.pk]))
    token = csrf_bob.cookies["csrftoken"].value
    r = csrf_bob.post(
        reverse("coding:workspace-code", args=[transcript.pk]),
        {"start": 3, "end": 9, "code": codes[0].pk},
        HTTP_X_CSRFTOKEN=token,
    )
    assert r.status_code == 200


def test_a_supervisor_cannot_write_by_crafting_requests(sue_client, transcript, codes):
    before = snapshot()
    assert code_post(sue_client, transcript, 0, 5, [codes[0].pk]).status_code == 403
    r = sue_client.post(
        reverse("coding:workspace-in-vivo", args=[transcript.pk]), {"start": 0, "end": 5}
    )
    assert r.status_code == 403
    assert snapshot() == before


# --- HTML and script in every page that shows transcript text ---------------------------------

RAW = (SCRIPT, IMG, "<b>fet</b>", "<script src=//evil")


@pytest.fixture
def hostile_world(world):
    """The access matrix's world with hostile text in every field a page shows."""
    from coding import importers
    from coding.models import Coding

    from .corpus import HOSTILE_TEXT

    world.project.name = f"Prosjekt {SCRIPT}"
    world.project.save()
    world.case.name = f"Drammen {IMG}"
    world.case.save()
    world.informant.pseudonym = f"Tone {SCRIPT}"
    world.informant.save()
    for code in world.codes:
        code.name = f"{code.name} {IMG}"
        code.definition = SCRIPT
        code.save()
    t = services.transcript_create(
        case=world.case,
        doc=importers.parse_pasted("\n".join(HOSTILE_TEXT), "x"),
        title=f"Intervju {SCRIPT}",
        speakers={
            "I": {"kind": "interviewer"},
            "IP": {"kind": "informant", "informant_id": world.informant.pk},
        },
        user=world.alice,
    )
    start = t.text.index("<script>")
    excerpt, _ = services.excerpt_code(
        transcript=t,
        start=start,
        end=t.text.index("fet</b>") + 7,
        codes=world.codes[:2],
        coder=world.bob,
    )
    world.memo = services.memo_save(
        project=world.project, author=world.bob, text=f"Notat {IMG} {SCRIPT}", excerpt=excerpt
    )
    world.transcript, world.excerpt = t, excerpt
    world.coding = Coding.objects.filter(content_object=excerpt).first()
    return world


def test_every_page_shows_hostile_text_escaped(hostile_world):
    from tests.test_access_matrix import ACCESS, PUBLIC, _url

    client = Client()
    client.force_login(hostile_world.alice)
    checked = []
    for name, entry in ACCESS.items():
        if "GET" not in entry.methods or entry.methods["GET"] == PUBLIC:
            continue
        url = _url(hostile_world, name, entry)
        r = client.get(url, entry.query(hostile_world) if entry.query else {})
        assert r.status_code < 500, url
        kind = r.get("Content-Type", "")
        if "json" in kind:
            assert r["X-Content-Type-Options"] == "nosniff"
            continue
        if "html" not in kind or r.status_code != 200:
            continue
        page = r.content.decode()
        for raw in RAW:
            assert raw not in page, f"{url} shows {raw!r} unescaped"
        checked.append(name)
    for must in (
        "coding:transcript-detail",
        "coding:transcript-history",
        "coding:project-detail",
        "coding:case-detail",
        "coding:codebook",
    ):
        assert must in checked
