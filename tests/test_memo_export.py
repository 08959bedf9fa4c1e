"""The Word export of memos (issue 17): a chapter per code or per case with the memos that
belong there, each memo's passage and "see also" passages quoted with their source lines; empty
parts say so. Reopened with python-docx; started from the memo overview as a job."""

from __future__ import annotations

import io

import docx
import pytest
from django.core.management import call_command
from django.urls import reverse

from coding import services
from coding.models import Job, JobKind, JobStatus

from . import test_memo_list
from .test_export_word import body, export

study = test_memo_list.study
memos = test_memo_list.memos


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def linked(memos, study, bob):
    """Bob's memo on the Sandnes passage also points to the Drammen passage on competence and
    to the code Kompetanse."""
    e2 = study["excerpts"][1]
    services.memo_link_set(memo=memos["e3"], actor=bob, excerpt=e2)
    services.memo_link_set(memo=memos["e3"], actor=bob, code=study["codes"][1])
    return memos


def outline(document) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """Heading 1 -> Heading 2 -> the (style, text) paragraphs under it ("" before any H2)."""
    out: dict[str, dict[str, list[tuple[str, str]]]] = {}
    chapter = section = None
    for style, text in body(document):
        if style == "Heading 1":
            chapter, section = out.setdefault(text, {}), ""
            chapter[""] = []
        elif chapter is None:
            continue
        elif style == "Heading 2":
            section = text
            chapter[section] = []
        else:
            chapter[section].append((style, text))
    return out


def texts(paragraphs, style="Normal") -> list[str]:
    return [t for s, t in paragraphs if s == style and t]  # not the empty page breaks


def test_memos_by_code_put_each_memo_under_its_codes_with_its_passages_quoted(
    project, linked, study
):
    document, stats, _data = export(project, layout="memos-by-code", codebook=False)
    doc = outline(document)
    assert list(doc) == [
        "Forankring og eierskap",
        "Kompetanse",
        "Brukermedvirkning",
        "Other memos",
    ]
    forankring = doc["Forankring og eierskap"]
    assert texts(forankring["Memos on the code"]) == ["No memo on this code."]
    # Passage memos in the transcripts' order: Drammen before Sandnes.
    on_passages = forankring["Memos on its passages"]
    assert texts(on_passages) == [
        "Viktig om boligene: se også Sandnes.",
        "The passage",
        "Strategien løftet tjenestene.",
        "The passage",
        "See also",
        "Code: Kompetanse",
    ]
    e1, e2, e3 = study["excerpts"]
    assert texts(on_passages, "Quote") == [e1.text, e3.text, e2.text]
    # Each memo's line (author, date), each quote's source line (case, speaker, transcript,
    # paragraph, coders, codes) as the other layouts write it.
    sources = texts(on_passages, "Excerpt Source")
    assert sources[0].startswith("alice · ") and sources[2].startswith("bob · ")
    assert sources[1::2] == [
        "Drammen · Tone Berg (Leder for boligtjenesten, Operative) · “Intervju med boligleder”, "
        "paragraph 2 · Coded by: alice, bob · Codes: Forankring og eierskap; Brukermedvirkning",
        "Sandnes · Geir Nilsen (Rådmann, Strategic) · “Intervju med rådmann”, paragraph 2 · "
        "Coded by: alice · Code: Forankring og eierskap",
    ]
    assert sources[4] == (
        "Drammen · Tone Berg (Leder for boligtjenesten, Operative) · “Intervju med boligleder”, "
        "paragraph 5 · Coded by: bob · Code: Kompetanse"
    )
    kompetanse = doc["Kompetanse"]
    # On the code first, then the memos linking to it.
    assert texts(kompetanse["Memos on the code"]) == [
        "Uklar grense mot ledelse.",
        "Strategien løftet tjenestene.",
        "The passage",
        "See also",
        "Code: Kompetanse",
    ]
    assert texts(kompetanse["Memos on its passages"]) == ["No memo on a passage coded with it."]
    assert texts(doc["Brukermedvirkning"]["Memos on its passages"])[0] == (
        "Viktig om boligene: se også Sandnes."
    )
    other = texts(doc["Other memos"][""])
    assert "Intervjuet ble avbrutt." in other and "Kommunen er liten." in other
    assert "Husk tidslinjen for rapporten." in other
    assert stats.memos == 6
    # The title page counts the memos.
    assert ("Export Detail", "Memos: 6") in body(document)


def test_memos_by_case_put_each_memo_under_its_case(project, linked):
    document, stats, _data = export(project, layout="memos-by-case", codebook=False)
    doc = outline(document)
    assert list(doc) == ["Drammen", "Sandnes", "Other memos"]
    drammen, sandnes = doc["Drammen"], doc["Sandnes"]
    assert texts(drammen["Memos on the case"]) == ["No memo on this case."]
    assert texts(drammen["Memos on its transcripts"])[0] == "Intervjuet ble avbrutt."
    assert ("Normal", "Transcript: Intervju med boligleder") in drammen["Memos on its transcripts"]
    assert texts(drammen["Memos on its passages"])[0] == "Viktig om boligene: se også Sandnes."
    assert texts(sandnes["Memos on the case"]) == ["Kommunen er liten."]
    assert texts(sandnes["Memos on its transcripts"]) == ["No memo on its transcripts."]
    assert "Strategien løftet tjenestene." in texts(sandnes["Memos on its passages"])
    # The code it links to is named under "See also".
    assert ("Normal", "Code: Kompetanse") in sandnes["Memos on its passages"]
    other = texts(doc["Other memos"][""])
    assert other == ["Uklar grense mot ledelse.", "Husk tidslinjen for rapporten."]


def test_the_filter_chooses_the_memos_and_a_code_filter_its_chapter(project, linked, study, alice):
    kompetanse = study["codes"][1]
    document, stats, _data = export(
        project,
        layout="memos-by-code",
        codebook=False,
        memo_filters={"code": str(kompetanse.pk), "author": str(alice.pk)},
    )
    doc = outline(document)
    assert list(doc) == ["Kompetanse"]
    assert texts(doc["Kompetanse"]["Memos on the code"]) == ["No memo on this code."]
    assert stats.memos == 0
    lines = [t for s, t in body(document) if s == "Export Detail"]
    assert "Code: Kompetanse" in lines and "Memos: 0" in lines


def test_an_empty_project_says_so_in_every_chapter(project, study):
    from coding.models import Memo

    Memo.objects.all().delete()
    document, stats, _data = export(project, layout="memos-by-case", codebook=False)
    doc = outline(document)
    assert texts(doc["Drammen"]["Memos on its passages"]) == ["No memo on its passages."]
    assert texts(doc["Other memos"][""]) == ["No other memos."]


def test_the_memo_overview_starts_the_export_as_a_job_supervisors_too(
    project, linked, study, sue_client, charlie_client
):
    url = reverse("coding:memo-export", args=[project.pk])
    sandnes = study["cases"][1]
    page = sue_client.get(reverse("coding:memo-list", args=[project.pk]), {"case": sandnes.pk})
    assert f'action="{url}"'.encode() in page.content
    assert f'name="case" value="{sandnes.pk}"'.encode() in page.content, "the filter travels"
    assert sue_client.get(url).status_code == 405, "a GET starts nothing"
    response = sue_client.post(url, {"layout": "memos-by-case", "case": sandnes.pk})
    job = Job.objects.get(kind=JobKind.EXPORT)
    assert response["Location"] == reverse("coding:job-detail", args=[job.pk])
    assert job.status == JobStatus.DONE, job.message
    # The Sandnes memos: the case's own, and bob's passage memo with its linked passage.
    assert job.message == "2 memos exported (2 quotes in 1 chapter)."
    assert job.params["memo_filters"] == {"case": str(sandnes.pk)}
    data = b"".join(sue_client.get(reverse("coding:job-download", args=[job.pk])).streaming_content)
    doc = outline(docx.Document(io.BytesIO(data)))
    assert list(doc) == ["Sandnes"]
    assert charlie_client.post(url, {"layout": "memos-by-case"}).status_code == 404
    assert sue_client.post(url, {"layout": "by-code"}).status_code == 404
    # A search the parser refuses is reported on the overview, and starts no job.
    r = sue_client.post(url, {"layout": "memos-by-code", "q": "b*"}, follow=True)
    assert Job.objects.count() == 1
    assert r.redirect_chain[-1][0] == reverse("coding:memo-list", args=[project.pk])


def test_the_command_writes_the_memo_layouts(project, linked, tmp_path):
    out = tmp_path / "notater.docx"
    stdout = io.StringIO()
    call_command(
        "export_word",
        str(project.pk),
        "--layout",
        "memos-by-code",
        "--out",
        str(out),
        "--language",
        "en",
        "--memo-filters",
        '{"kind": "excerpt"}',
        stdout=stdout,
    )
    assert "2 memos" in stdout.getvalue()
    doc = outline(docx.Document(str(out)))
    assert texts(doc["Other memos"][""]) == ["No other memos."]
    assert "Appendix: codebook" in doc
