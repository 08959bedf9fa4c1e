"""The REFI-QDA preview maps speaker labels for every source, however many (issue 14): each
distinct label once for all the sources that use it, and a source's own choice, where it
needs one, on the per-source page (pages of sources, kept on the draft). Personas: alice
owns, bob researches, charlie has no access."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from coding.exchange.form import (
    AS_PROPOSED,
    ONLY_INFORMANT,
    SOURCE_PAGE_FIELDS,
    source_pages,
    speaker_mapping,
)
from coding.exchange.plan import SourceSpeakers
from coding.forms import MAX_SPEAKER_LABELS
from coding.models import Job, JobStatus, Project, Transcript

from .test_exchange_import import qde, qdpx

N_SOURCES = 160  # two labels each: more fields than one per-source page holds


def _guid(n: int) -> str:
    return f"5005ce01-0000-4000-8000-{n:012d}"


def _many_sources_file(n: int = N_SOURCES) -> bytes:
    sources = "".join(
        f'<TextSource guid="{_guid(k)}" name="Intervju {k:03d}"><PlainTextContent>'
        f"I: Hvordan går det i bydel {k}?\n\nIP: Det går bra i bydel {k}.\n\n"
        f"I: Og boligene?\n\nIP: Vi får flere.</PlainTextContent></TextSource>"
        for k in range(1, n + 1)
    )
    return qdpx(qde(f"<Sources>{sources}</Sources>")).getvalue()


def _upload(client, project) -> Job:
    upload = SimpleUploadedFile("mange.qdpx", _many_sources_file())
    r = client.post(reverse("coding:exchange-import", args=[project.pk]), {"file": upload})
    assert r.status_code == 302
    return Job.objects.get(kind="exchange_import")


def test_a_mapping_for_a_source_beyond_the_fiftieth_takes_effect(alice, alice_client, project):
    job = _upload(alice_client, project)
    preview_url = reverse("coding:exchange-preview", args=[job.pk])
    r = alice_client.get(preview_url)
    form = r.context["form"]
    # One field per distinct label, each for all the sources: not one per source and label.
    groups = {g.label: (key, len(g.sources), g.turns) for key, g in form.label_fields}
    assert groups == {
        "I": (groups["I"][0], N_SOURCES, 2 * N_SOURCES),
        "IP": (groups["IP"][0], N_SOURCES, 2 * N_SOURCES),
    }
    assert len(form.fields) < 1000  # Django refuses forms of more fields
    page = r.content.decode()
    assert "Speaker labels found in 160 sources" in page
    lbl = {label: key for label, (key, _n, _t) in groups.items()}
    assert form.fields[lbl["IP"]].initial == "speaker"  # as proposed in every source

    # For every source "IP" is no speaker label; then source 155 gets a choice of its own.
    r = alice_client.post(
        preview_url, {lbl["I"]: "interviewer", lbl["IP"]: "none", "per_source": "1"}
    )
    speakers_url = reverse("coding:exchange-speakers", args=[job.pk])
    assert r.status_code == 302 and r.url == speakers_url
    first = alice_client.get(speakers_url)
    assert first.context["n_pages"] == 2
    assert sum(len(rows) for _s, rows in first.context["form"].rows) <= SOURCE_PAGE_FIELDS
    second = alice_client.get(speakers_url, {"page": 2})
    rows = {s.guid: keys for s, keys in second.context["form"].rows}
    assert _guid(155) in rows and _guid(1) not in rows
    own = {label: key for key, label, _n in rows[_guid(155)]}
    r = alice_client.post(f"{speakers_url}?page=2", {own["IP"]: "speaker"})
    assert r.status_code == 302 and r.url == preview_url
    job.refresh_from_db()
    assert job.params["speaker_choices"] == {
        "label_choices": {"I": "interviewer", "IP": "none"},
        "overrides": {_guid(155): {"IP": "speaker"}},
    }

    # Back on the preview: the labels' choices are kept, the source's choice counted.
    r = alice_client.get(preview_url)
    form = r.context["form"]
    assert form[lbl["IP"]].value() == "none"
    assert "1 source has choices of its own." in r.content.decode()
    users = {k: "name" for k, _g in form.user_fields}
    r = alice_client.post(
        preview_url,
        {
            "target": "new",
            "new_project_name": "Mange kilder",
            "codes": "merge",
            **users,
            lbl["I"]: "interviewer",
            lbl["IP"]: "none",
        },
    )
    assert r.status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.message
    new = Project.objects.get(name="Mange kilder")
    assert Transcript.objects.filter(case__project=new).count() == N_SOURCES
    mine = Transcript.objects.get(case__project=new, title="Intervju 155")
    assert list(mine.turns.values_list("label", flat=True)) == ["I", "IP", "I", "IP"]
    for title in ("Intervju 001", "Intervju 051", "Intervju 154", "Intervju 160"):
        other = Transcript.objects.get(case__project=new, title=title)
        # "IP:" stays text inside the question's turn, in every source but 155.
        assert list(other.turns.values_list("label", flat=True)) == ["I", "I"]


def test_the_per_source_page_is_the_owners_and_the_drafts(
    alice, alice_client, bob_client, charlie_client, project
):
    job = _upload(alice_client, project)
    url = reverse("coding:exchange-speakers", args=[job.pk])
    assert charlie_client.get(url).status_code == 404
    assert bob_client.get(url).status_code == 403
    job.status = JobStatus.DONE
    job.save(update_fields=["status"])
    r = alice_client.get(url)
    assert r.status_code == 302 and r.url == reverse("coding:job-detail", args=[job.pk])


def _source(n: int, labels, proposed, informants=None) -> SourceSpeakers:
    return SourceSpeakers(_guid(n), f"S{n}", labels, proposed, informants or {})


def test_a_sources_choice_beats_its_labels_which_beats_the_proposal():
    one = _source(1, [("IP", 3)], {"IP": {"kind": "speaker"}}, {"tone": "Tone"})
    two = _source(2, [("IP", 2)], {"IP": {"kind": "speaker"}}, {"per": "Per", "ola": "Ola"})
    three = _source(3, [("IP", 1), ("Per", 1)], {"IP": {"kind": "speaker"}, "Per": {}})
    got = speaker_mapping([one, two, three], {"IP": ONLY_INFORMANT}, {_guid(3): {"IP": "none"}})
    assert got[_guid(1)]["IP"] == {"kind": "informant", "pseudonym": "tone"}
    assert got[_guid(2)]["IP"] == {"kind": "speaker"}  # two informants: the proposal stays
    assert got[_guid(3)]["IP"] == {"kind": "none"}
    # An informant chosen for a label holds where that informant speaks, nowhere else.
    got = speaker_mapping([one, two], {"IP": "informant:per"}, {})
    assert got[_guid(2)]["IP"] == {"kind": "informant", "pseudonym": "per"}
    assert got[_guid(1)]["IP"] == {"kind": "speaker"}
    assert speaker_mapping([one], {"IP": AS_PROPOSED}, {})[_guid(1)]["IP"] == {"kind": "speaker"}


def test_the_label_cap_holds_for_all_sources_together_and_pages_stay_small(project):
    from coding.exchange.form import ExchangePreviewForm

    labels = [(f"Deltaker {k}", 2) for k in range(MAX_SPEAKER_LABELS + 5)]
    sources = [
        _source(n, labels, {lab: {"kind": "speaker"} for lab, _n in labels}) for n in range(40)
    ]
    form = ExchangePreviewForm(users={}, members=[], sources=sources)
    assert len(form.label_fields) == MAX_SPEAKER_LABELS
    assert form.labels_as_proposed == 5
    pages = source_pages(sources)
    assert all(
        sum(min(len(s.labels), MAX_SPEAKER_LABELS) for s in p) <= SOURCE_PAGE_FIELDS for p in pages
    )
    assert sum(len(p) for p in pages) == 40
