"""The report skeleton in Word: a chapter per case, a chapter per factor, the codebook; the
summaries and key quotes in their places, and empty parts saying so. Read back with python-docx."""

from __future__ import annotations

import io

import docx
import pytest
from django.core.management import call_command
from django.urls import reverse

from coding import services

from . import test_export_word
from .test_export_word import export

study = test_export_word.study  # the study of the Word export tests, as a fixture here too


def outline(document) -> list[tuple[str, str]]:
    """(style, text) of the body, headings and what stands under them."""
    return [(p.style.name, p.text) for p in document.paragraphs if p.text.strip()]


def under(document, *path: str) -> list[tuple[str, str]]:
    """The paragraphs under the heading path (Heading 1 text, then Heading 2 text), up to the
    next heading of the same or a higher level."""
    rows = outline(document)
    levels = [f"Heading {i + 1}" for i in range(len(path))]
    i = 0
    for level, text in zip(levels, path, strict=True):
        while not (rows[i][0] == level and rows[i][1] == text):
            i += 1
        i += 1
    out = []
    stop = {f"Heading {n}" for n in range(1, len(path) + 1)}
    while i < len(rows) and rows[i][0] not in stop:
        out.append(rows[i])
        i += 1
    return out


@pytest.fixture
def written(study, project, alice, bob):
    forankring, kompetanse, _medvirkning = study["codes"]
    drammen, sandnes = study["cases"]
    e1, e2, e3 = study["excerpts"]
    save = services.framework_summary_save
    save(
        project=project,
        case=drammen,
        code=forankring,
        author=alice,
        text="Tydelig eierskap i ledelsen.",
        base_version=0,
    )
    save(
        project=project,
        case=drammen,
        code=None,
        author=bob,
        text="Drammen bygde på boligtjenesten.",
        base_version=0,
    )
    save(
        project=project,
        case=None,
        code=forankring,
        author=alice,
        text="Forankring bar arbeidet i begge kommunene.",
        base_version=0,
    )
    services.key_quote_set(excerpt=e1, code=forankring, user=alice, marked=True)
    services.key_quote_set(excerpt=e1, code=forankring, user=bob, marked=True)  # once in the file
    services.key_quote_set(excerpt=e3, code=forankring, user=bob, marked=True)
    return study


def test_the_report_has_a_chapter_per_case_then_per_factor_then_the_codebook(written, project):
    document, stats, _data = export(project, "report")
    chapters = [t for s, t in outline(document) if s == "Heading 1"]
    assert chapters == [
        "Drammen",
        "Sandnes",
        "Forankring og eierskap",
        "Kompetanse",
        "Brukermedvirkning",
        "Appendix: codebook",
    ]
    assert stats.chapters == 5  # the appendix is not a chapter


def test_a_case_chapter_holds_its_summary_attributes_and_each_factor(written, project):
    document, _stats, _data = export(project, "report")
    summary = under(document, "Drammen", "Case summary")
    assert ("Normal", "Drammen bygde på boligtjenesten.") in summary
    cell = under(document, "Drammen", "Forankring og eierskap")
    texts = [t for _s, t in cell]
    assert "Tydelig eierskap i ledelsen." in texts
    quotes = [t for s, t in cell if s == "Quote"]
    assert len(quotes) == 1 and "boliger" in quotes[0]  # two marks, one quote
    sources = [t for s, t in cell if s == "Excerpt Source"]
    assert sources and sources[0].startswith("Drammen") and "Intervju med boligleder" in sources[0]
    # The attributes table of the case.
    tables = ["\n".join(c.text for c in t._cells) for t in document.tables]
    assert any("Innbyggere" in t and "100" in t for t in tables)


def test_empty_parts_say_so(written, project):
    document, _stats, _data = export(project, "report")
    assert under(document, "Sandnes", "Case summary") == [
        ("Normal", "No case summary written yet.")
    ]
    kompetanse = [t for _s, t in under(document, "Drammen", "Kompetanse")]
    # A coded passage, but not marked: the cell has no key quotes.
    assert kompetanse == [
        "No summary written for this case and factor yet.",
        "No key quotes marked.",
    ]
    assert ("Normal", "No cross-case synthesis written yet.") in under(
        document, "Kompetanse", "Cross-case synthesis"
    )


def test_a_factor_chapter_holds_the_synthesis_and_each_case(written, project):
    document, _stats, _data = export(project, "report")
    synthesis = [t for _s, t in under(document, "Forankring og eierskap", "Cross-case synthesis")]
    assert synthesis == ["Forankring bar arbeidet i begge kommunene."]
    sandnes = under(document, "Forankring og eierskap", "Sandnes")
    assert [t for s, t in sandnes if s == "Quote"] == [
        "Strategien ga oss et felles språk.\nOg politisk støtte."
    ] or any("Strategien ga oss" in t for s, t in sandnes if s == "Quote")
    assert ("Normal", "No summary written for this case and factor yet.") in sandnes


def test_the_report_speaks_norwegian(written, project):
    document, _stats, _data = export(project, "report", language="nb")
    texts = [t for _s, t in outline(document)]
    assert "Ingen tverrgående syntese skrevet ennå." in texts
    assert "Sammendrag av kasuset" in texts


def test_export_word_command_writes_the_report(written, project, tmp_path):
    out = tmp_path / "rapport.docx"
    call_command(
        "export_word", str(project.pk), "--layout", "report", "--out", str(out), "--language", "en"
    )
    document = docx.Document(io.BytesIO(out.read_bytes()))
    assert "Cross-case synthesis" in [p.text for p in document.paragraphs]


def test_the_export_page_starts_the_report_and_key_quotes_only(written, project, bob_client):
    from coding.models import Job, JobKind, JobStatus

    url = reverse("coding:export", args=[project.pk])
    page = bob_client.get(url).content.decode()
    assert 'value="report"' in page and 'name="key_quotes"' in page
    assert page.count('name="key_quotes"') == 1  # one checkbox, read by both forms
    bob_client.post(
        url, {"layout": "report", "context_words": "0", "language": "en", "codebook": "on"}
    )
    job = Job.objects.get(kind=JobKind.EXPORT)
    assert job.status == JobStatus.DONE, job.message
    assert "report" in job.result_name
    with job.result_file.open("rb") as fh:
        document = docx.Document(fh)
    assert "Cross-case synthesis" in [p.text for p in document.paragraphs]
    # "Key quotes only" on the by-code layout: the two marked passages, not the third.
    bob_client.post(
        url, {"layout": "by-code", "context_words": "0", "language": "en", "key_quotes": "on"}
    )
    job = Job.objects.filter(kind=JobKind.EXPORT).order_by("-created_at").first()
    assert job.params["key_quotes"] is True
    assert job.message.startswith("2 excerpts exported"), job.message
