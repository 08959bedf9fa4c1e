"""The Word export: layouts, quotes and source lines read back with python-docx, templates,
the background job, access, the command, and a round trip through LibreOffice."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import subprocess
import zipfile
from collections import Counter

import docx
import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone, translation
from docx.document import Document as DocxDocument

from coding import services
from coding.exports import rows as export_rows
from coding.exports.jobs import export_to_file
from coding.exports.ooxml import DocxWriter, clean_text
from coding.exports.template import check_template
from coding.exports.word import ExportOptions, write_word
from coding.models import (
    AttributeDefinition,
    AttributeKind,
    AttributeTarget,
    AttributeValue,
    CaseKind,
    Coding,
    Excerpt,
    Job,
    JobKind,
    JobStatus,
    Level,
    Turn,
)
from coding.services import maintenance

from .conftest import REQUIRE_SERVICES
from .docs import EXE, OLE_ENCRYPTED, PDF, make_docx, rezip, zip_bomb
from .factories import CaseFactory, InformantFactory, TranscriptFactory

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

# Line breaks inside a paragraph and between paragraphs, æøå, an emoji outside the BMP.
TRICKY = "Vi får æøå-boliger 🏠 til alle.\nNy linje, samme avsnitt."
# Characters XML 1.0 forbids (vertical tab, unit separator, U+FFFE): dropped, never written.
FORBIDDEN = "Før\x0bkontroll\x1ftegn\ufffe etter."


# --- the study ------------------------------------------------------------------------------


def make_transcript(case, title, turns, date=None):
    """A transcript of (label, informant or None, text) turns, with its Turn rows."""
    text, spans, pos = "", [], 0
    for i, (label, informant, body) in enumerate(turns):
        if i:
            text += "\n\n"
            pos += 2
        line = f"{label}: {body}"
        spans.append((pos, pos + len(label) + 2, pos + len(line), label, informant))
        text += line
        pos += len(line)
    t = TranscriptFactory(case=case, title=title, text=text, interview_date=date)
    for i, (start, content_start, end, label, informant) in enumerate(spans):
        Turn.objects.create(
            transcript=t,
            index=i,
            start=start,
            content_start=content_start,
            end=end,
            label=label,
            is_interviewer=informant is None,
            informant=informant,
        )
        if informant is not None:
            t.informants.add(informant)
    return t


def code_span(transcript, phrase, codes, coder):
    start = transcript.text.index(phrase)
    excerpt, _new = services.excerpt_code(
        transcript=transcript, start=start, end=start + len(phrase), codes=codes, coder=coder
    )
    return excerpt


@pytest.fixture
def study(project, codes, case, alice, bob):
    forankring, kompetanse, medvirkning = codes
    case.order = 0
    case.save(update_fields=["order"])
    sandnes = CaseFactory(project=project, name="Sandnes", kind=CaseKind.IN_DEPTH, order=1)
    size = AttributeDefinition.objects.create(
        project=project, target=AttributeTarget.CASE, name="Innbyggere", kind=AttributeKind.INTEGER
    )
    AttributeValue.objects.create(definition=size, case=case, value_integer=100581)
    tone = InformantFactory(
        case=case,
        pseudonym="Tone Berg",
        role_title="Leder for boligtjenesten",
        level=Level.OPERATIVE,
    )
    geir = InformantFactory(
        case=sandnes, pseudonym="Geir Nilsen", role_title="Rådmann", level=Level.STRATEGIC
    )
    drammen = make_transcript(
        case,
        "Intervju med boligleder",
        [
            ("I", None, "Hvordan går arbeidet?"),
            ("IP", tone, TRICKY),
            ("I", None, "Og kompetansen i tjenesten?"),
            ("IP", tone, "Den er god. Rådmannen har vært tydelig på at dette er viktig."),
        ],
        date=dt.date(2020, 3, 1),
    )
    sand = make_transcript(
        sandnes,
        "Intervju med rådmann",
        [
            ("I", None, "Hva betyr strategien?"),
            ("IP", geir, "Strategien ga oss et felles språk.\n\nOg politisk støtte."),
        ],
    )
    e1 = code_span(drammen, TRICKY, [forankring, medvirkning], alice)
    code_span(drammen, TRICKY, [forankring], bob)  # a second coder on the same excerpt
    e2 = code_span(drammen, "Rådmannen har vært tydelig på at dette er viktig.", [kompetanse], bob)
    e3 = code_span(
        sand, "Strategien ga oss et felles språk.\n\nOg politisk støtte.", [forankring], alice
    )
    services.memo_save(
        project=project, author=alice, excerpt=e1, text="Viktig om boligene: se også Sandnes."
    )
    return {
        "codes": codes,
        "cases": (case, sandnes),
        "transcripts": (drammen, sand),
        "excerpts": (e1, e2, e3),
        "informants": (tone, geir),
    }


# --- reading exports back -------------------------------------------------------------------


def export(project, layout="by-code", language="en", codings=None, template=None, **params):
    buf = io.BytesIO()
    with translation.override(language):
        stats = export_to_file(
            buf,
            project=project,
            params={"layout": layout, **params},
            made_by="Alice Eier",
            codings=codings,
            template=template,
        )
    return docx.Document(io.BytesIO(buf.getvalue())), stats, buf.getvalue()


def body(document) -> list[tuple[str, str]]:
    """(style name, text) of every body paragraph, in order."""
    return [(p.style.name, p.text) for p in document.paragraphs]


def chapters(document) -> dict[str, dict]:
    """Per Heading 1: its sections (Heading 2) with the quotes under each, and the source lines."""
    out: dict[str, dict] = {}
    chapter = section = None
    for style, text in body(document):
        if style == "Heading 1":
            chapter = out.setdefault(text, {"sections": {}, "quotes": [], "sources": []})
            section = None
        elif style == "Heading 2" and chapter is not None:
            section = chapter["sections"].setdefault(text, [])
        elif style == "Quote" and chapter is not None:
            chapter["quotes"].append(text)
            if section is not None:
                section.append(text)
        elif style == "Excerpt Source" and chapter is not None:
            chapter["sources"].append(text)
    return out


def part_xml(data: bytes, name: str) -> str:
    return zipfile.ZipFile(io.BytesIO(data)).read(name).decode("utf-8")


# --- by code --------------------------------------------------------------------------------


def test_by_code_has_a_chapter_per_code_and_a_section_per_case(project, study):
    forankring, kompetanse, medvirkning = study["codes"]
    document, stats, _data = export(project, "by-code")
    got = chapters(document)
    assert list(got)[:3] == [forankring.name, kompetanse.name, medvirkning.name]
    assert list(got[forankring.name]["sections"]) == ["Drammen", "Sandnes"]
    assert list(got[kompetanse.name]["sections"]) == ["Drammen"]
    for code in study["codes"]:
        in_db = Excerpt.objects.filter(codings__tag=code).distinct().count()
        assert len(got[code.name]["quotes"]) == in_db
    assert stats.excerpts == 3
    assert stats.quotes == 4  # e1 under two codes
    assert stats.chapters == 3


def test_quotes_equal_the_coded_text_with_line_breaks_letters_and_emoji(project, study):
    document, _stats, _data = export(project, "by-code")
    quotes = [text for style, text in body(document) if style == "Quote"]
    for excerpt in study["excerpts"]:
        assert excerpt.text in quotes
    assert TRICKY in quotes
    assert "Strategien ga oss et felles språk.\n\nOg politisk støtte." in quotes


def test_characters_xml_forbids_are_dropped_and_the_file_still_opens(project, study, alice):
    drammen = study["transcripts"][0]
    transcript = TranscriptFactory(
        case=drammen.case, title="Skadet tekst", text=f"IP: {FORBIDDEN}\n\nIP: Slutt."
    )
    # Bypass the import normalisation on purpose: old rows or other paths may hold such text.
    excerpt = Excerpt.objects.create(
        transcript=transcript, start=4, end=4 + len(FORBIDDEN), text=FORBIDDEN, paragraph=1
    )
    Coding.objects.create(tag=study["codes"][1], content_object=excerpt, coder=alice)
    document, _stats, _data = export(project, "by-code")
    quotes = [text for style, text in body(document) if style == "Quote"]
    assert "Førkontrolltegn etter." in quotes


def test_the_writer_drops_what_the_database_cannot_even_hold():
    data = export_rows.ExportData(
        project_name="Prosjekt \x00 med null",
        codes=[export_rows.CodeRow(1, "Kode", None, 0)],
        cases=[export_rows.CaseRow(1, "Kasus", "Case")],
        excerpts={
            1: export_rows.ExcerptRow(
                id=1, case_id=1, transcript_title="T", paragraph=3, text="a\ud800b\x00c\r\nd"
            )
        },
        placements=[(1, 1, ("Kari",))],
    )
    buf = io.BytesIO()
    write_word(buf, data, ExportOptions())
    document = docx.Document(io.BytesIO(buf.getvalue()))
    assert [t for s, t in body(document) if s == "Quote"] == ["abc\nd"]
    assert document.paragraphs[0].text == "Prosjekt  med null"
    assert clean_text("x\x01\x08\x0e\x1f\ufffe\uffffy\t\n") == "xy\t\n"


def test_markup_characters_in_quotes_and_names_come_back_as_written():
    tricky = "R&D <i>ikke kursiv</i> > \"sitat\" & 'enkelt' &amp; ]]>"
    data = export_rows.ExportData(
        project_name="Bolig & velferd <2014>",
        codes=[export_rows.CodeRow(1, 'Kode "A" & <B>', None, 0)],
        cases=[export_rows.CaseRow(1, "Kasus & co", "Case")],
        excerpts={
            1: export_rows.ExcerptRow(
                id=1, case_id=1, transcript_title="T <1>", paragraph=3, text=tricky
            )
        },
        placements=[(1, 1, ("Kari & Ola",))],
    )
    buf = io.BytesIO()
    write_word(buf, data, ExportOptions())
    document = docx.Document(io.BytesIO(buf.getvalue()))
    assert [t for s, t in body(document) if s == "Quote"] == [tricky]
    assert document.paragraphs[0].text == "Bolig & velferd <2014>"
    texts = [p.text for p in document.paragraphs]
    assert 'Kode "A" & <B>' in texts
    assert any("Kasus & co" in t and "T <1>" in t and "Kari & Ola" in t for t in texts)


def test_each_quote_has_a_source_line_naming_where_it_comes_from(project, study):
    forankring, _k, medvirkning = study["codes"]
    document, _stats, _data = export(project, "by-code")
    sources = chapters(document)[forankring.name]["sources"]
    first = sources[0]
    # case, informant pseudonym with role and level, transcript title, paragraph, coders, codes
    assert first.startswith("Drammen · Tone Berg (Leder for boligtjenesten, Operative)")
    assert "“Intervju med boligleder”, paragraph 2" in first
    assert "Coded by: alice, bob" in first
    assert f"Codes: {forankring.name}; {medvirkning.name}" in first
    second = sources[1]
    assert second.startswith("Sandnes · Geir Nilsen (Rådmann, Strategic)")
    assert "Coded by: alice" in second


def test_memos_and_context_are_added_only_when_asked(project, study):
    plain, _s, _d = export(project, "by-code")
    styles = Counter(s for s, _t in body(plain))
    assert styles["Excerpt Memo"] == 0 and styles["Excerpt Context"] == 0
    rich, _s, _d = export(project, "by-code", memos=True, context_words=3)
    lines = body(rich)
    memos = [t for s, t in lines if s == "Excerpt Memo"]
    assert memos and all(t == "Memo by alice: Viktig om boligene: se også Sandnes." for t in memos)
    i = lines.index(("Quote", TRICKY))
    assert lines[i - 1] == ("Excerpt Context", "Context before: … går arbeidet? IP:")
    assert lines[i + 1] == ("Excerpt Context", "Context after: I: Og kompetansen …")


def test_reading_the_rows_takes_the_same_queries_for_more_excerpts(project, study, alice):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            export_rows.collect(project, Coding.objects.all(), memos=True, context=True)
        return len(ctx.captured_queries)

    before = queries()
    drammen = study["transcripts"][0]
    extra = make_transcript(
        drammen.case,
        "Nytt intervju",
        [("IP", study["informants"][0], f"Setning {i}.") for i in range(8)],
    )
    for i in range(8):
        code_span(extra, f"Setning {i}.", [study["codes"][i % 3]], alice)
    assert queries() == before


# --- the document ---------------------------------------------------------------------------


def test_title_page_contents_field_and_headings_use_words_own_styles(project, study):
    document, _stats, data = export(project, "by-code")
    lines = body(document)
    assert lines[0] == ("Title", "Bolig for velferd")
    assert lines[1] == ("Subtitle", "Coded excerpts by code")
    assert ("Export Detail", "Made by: Alice Eier") in lines
    assert ("Export Detail", "Excerpts: 3") in lines
    assert ("TOC Heading", "Contents") in lines
    xml = part_xml(data, "word/document.xml")
    assert 'TOC \\o "1-1" \\h \\z \\u' in xml
    assert xml.count('w:fldCharType="begin"') == xml.count('w:fldCharType="end"')
    assert '<w:updateFields w:val="true"/>' in part_xml(data, "word/settings.xml")
    heading = next(p for p in document.paragraphs if p.style.name == "Heading 1")
    assert heading.style.style_id == "Heading1"  # the built-in style, for the navigation pane
    assert document.sections[-1].page_height > document.sections[-1].page_width  # A4 portrait
    footer = document.sections[-1].footer.paragraphs[0]
    assert " PAGE " in footer._p.xml and footer.alignment == 1  # centred page number


def test_the_codebook_appendix_lists_every_code_with_its_definition(project, study):
    forankring = study["codes"][0]
    forankring.definition = "Om ledelsen deler et bilde av arbeidet."
    forankring.save(update_fields=["definition"])
    document, _s, _d = export(project, "by-code")
    lines = body(document)
    start = lines.index(("Heading 1", "Appendix: codebook"))
    appendix = lines[start:]
    for code in study["codes"]:
        assert ("Heading 2", code.name) in appendix
    assert ("Normal", "Definition: Om ledelsen deler et bilde av arbeidet.") in appendix
    without, _s, _d = export(project, "by-code", codebook=False)
    assert ("Heading 1", "Appendix: codebook") not in body(without)


def test_labels_and_dates_follow_the_chosen_language(project, study):
    english, _s, _d = export(project, "by-code", language="en")
    norwegian, _s, _d = export(project, "by-code", language="nb")
    # The date on the title page is the last detail line, written in the job's language.
    made = {
        lang: [t for s, t in body(doc) if s == "Export Detail"][-1]
        for lang, doc in (("en", english), ("nb", norwegian))
    }
    today = timezone.localtime()
    with translation.override("nb"):
        nb_date = formats.date_format(today, "DATE_FORMAT")  # "26. november 2025"
    with translation.override("en"):
        en_date = formats.date_format(today, "DATE_FORMAT")  # "Nov. 26, 2025"
    assert nb_date != en_date
    assert nb_date in made["nb"] and en_date not in made["nb"]
    assert en_date in made["en"]
    assert [t for s, t in body(english) if s == "Subtitle"] == ["Coded excerpts by code"]


# --- by case, selection, framework ----------------------------------------------------------


def test_by_case_has_a_chapter_per_case_with_attributes_and_a_section_per_code(project, study):
    forankring, kompetanse, medvirkning = study["codes"]
    document, stats, _d = export(project, "by-case")
    got = chapters(document)
    assert list(got)[:2] == ["Drammen", "Sandnes"]
    assert list(got["Drammen"]["sections"]) == [forankring.name, kompetanse.name, medvirkning.name]
    assert len(got["Drammen"]["quotes"]) == 3
    assert len(got["Sandnes"]["quotes"]) == 1
    tables = [[[c.text for c in row.cells] for row in t.rows] for t in document.tables]
    assert [["Attribute", "Value"], ["Innbyggere", "100,581"]] in tables
    assert ["Tone Berg", "Leder for boligtjenesten", "Operative"] in tables[1]
    assert stats.chapters == 2


def test_a_selection_exports_only_the_codings_the_matrix_filter_keeps(project, study):
    forankring, kompetanse, _m = study["codes"]
    drammen, sandnes = study["cases"]
    filters = {"cases": [str(sandnes.pk)], "codes": [str(forankring.pk), str(kompetanse.pk)]}
    document, stats, _d = export(project, "selection", filters=filters)
    got = chapters(document)
    assert list(got)[:1] == [forankring.name]
    assert [t for s, t in body(document) if s == "Quote"][:1] == [study["excerpts"][2].text]
    assert stats.excerpts == 1
    lines = body(document)
    assert ("Export Detail", "Cases: Sandnes") in lines


def test_a_selection_of_one_matrix_cell(project, study):
    forankring = study["codes"][0]
    drammen, _sandnes = study["cases"]
    filters = {"codes": [str(forankring.pk)]}
    cell = {"row": str(drammen.pk), "col": str(forankring.pk)}
    document, stats, _d = export(project, "selection", filters=filters, cell=cell)
    assert stats.excerpts == 1
    assert [t for s, t in body(document) if s == "Quote"] == [TRICKY]
    assert ("Export Detail", f"Matrix cell: Drammen × {forankring.name}") in body(document)


def test_framework_writes_the_matrix_with_summaries_and_the_excerpts_as_appendix(
    project, study, alice
):
    forankring, kompetanse, _m = study["codes"]
    drammen, sandnes = study["cases"]
    services.framework_summary_save(
        project=project,
        case=drammen,
        code=forankring,
        author=alice,
        text="Sterk politisk forankring.",
        base_version=0,
    )
    document, _stats, data = export(project, "framework")
    table = [[c.text for c in row.cells] for row in document.tables[0].rows]
    names = [c.name for c in study["codes"]]
    assert table[0] == ["Case", *names]
    assert table[1][0] == "Drammen"
    assert table[1][1] == "Sterk politisk forankring.\n(1 excerpt)"
    assert table[2][1] == "—\n(1 excerpt)"
    assert table[2][2] == "—"
    got = chapters(document)
    assert "Appendix: excerpts behind the matrix" in got
    assert len(got["Appendix: excerpts behind the matrix"]["quotes"]) == 4
    assert 'w:orient="landscape"' in part_xml(data, "word/document.xml")
    without, _s, _d = export(project, "framework", excerpts_appendix=False)
    assert not [t for s, t in body(without) if s == "Quote"]


def test_framework_splits_a_wide_group_into_even_tables():
    codes = [export_rows.CodeRow(0, "Suksessfaktorer", None, 0)] + [
        export_rows.CodeRow(i, f"Faktor {i}", 0, 1) for i in range(1, 7)
    ]
    data = export_rows.ExportData(
        project_name="P",
        codes=codes,
        cases=[export_rows.CaseRow(1, "Drammen", "Case")],
        summaries={(1, 4): "Oppsummert."},
    )
    buf = io.BytesIO()
    write_word(buf, data, ExportOptions(layout="framework"))
    document = docx.Document(io.BytesIO(buf.getvalue()))
    heads = [[c.text for c in t.rows[0].cells] for t in document.tables]
    assert heads == [
        ["Case", "Faktor 1", "Faktor 2", "Faktor 3"],
        ["Case", "Faktor 4", "Faktor 5", "Faktor 6"],
    ]
    assert document.tables[1].rows[1].cells[1].text == "Oppsummert."
    assert [t for s, t in body(document) if s == "Heading 2"][:2] == [
        "Suksessfaktorer",
        "Suksessfaktorer (continued)",
    ]


# --- templates ------------------------------------------------------------------------------


def _template(heading_id: str = "Heading1") -> bytes:
    """A template with a red Quote style, body text to drop, and Heading 1 under ``heading_id``
    (Norwegian Word calls it "Overskrift1")."""
    document = docx.Document()
    document.styles["Quote"].font.color.rgb = docx.shared.RGBColor(0xC0, 0x00, 0x00)
    document.add_paragraph("Malens egen tekst som ikke skal med.")
    styles = document.styles.element
    for el in styles.iter(f"{W}style"):
        if el.get(f"{W}styleId") == "Heading1":
            el.set(f"{W}styleId", heading_id)
        for ref in el.iter(f"{W}basedOn", f"{W}next", f"{W}link"):
            if ref.get(f"{W}val") == "Heading1":
                ref.set(f"{W}val", heading_id)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def test_an_uploaded_template_lends_its_styles_and_drops_its_text(project, study):
    template = io.BytesIO(check_template(io.BytesIO(_template("Overskrift1")), "mal.docx"))
    document, _s, _d = export(project, "by-code", template=template)
    texts = [t for _s, t in body(document)]
    assert "Malens egen tekst som ikke skal med." not in texts
    heading = next(p for p in document.paragraphs if p.style.name == "Heading 1")
    assert heading.style.style_id == "Overskrift1"
    assert document.styles["Quote"].font.color.rgb == docx.shared.RGBColor(0xC0, 0x00, 0x00)
    assert TRICKY in [t for s, t in body(document) if s == "Quote"]


def test_a_dotx_template_is_accepted_as_a_docx():
    data = _template()
    ct = zipfile.ZipFile(io.BytesIO(data)).read("[Content_Types].xml")
    dotx = rezip(
        data,
        replace={"[Content_Types].xml": ct.replace(b"document.main+xml", b"template.main+xml")},
    )
    checked = check_template(io.BytesIO(dotx), "mal.dotx")
    assert docx.Document(io.BytesIO(checked)).styles["Quote"] is not None


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (rezip(make_docx(["x"]), add={"word/vbaProject.bin": b"macro"}), "macros"),
        (OLE_ENCRYPTED, "encrypted_or_doc"),
        (PDF, "wrong_type"),
        (EXE, "wrong_type"),
        (b"just some text", "wrong_type"),
        (b"PK\x03\x04 not really a zip", "corrupt"),
        (zip_bomb(), "zip_bomb"),
        (rezip(make_docx(["x"]), replace={"word/styles.xml": b"<not xml"}), "corrupt"),
    ],
)
def test_a_template_upload_is_checked_like_an_import(settings, content, code):
    with pytest.raises(ValidationError) as info:
        check_template(io.BytesIO(content), "mal.docx")
    assert info.value.code == code
    assert "mal.docx" in info.value.messages[0]


# --- the page and the job -------------------------------------------------------------------


def test_charlie_gets_404_for_the_export_page_the_count_and_the_file(
    project, study, alice_client, charlie_client
):
    url = reverse("coding:export", args=[project.pk])
    assert charlie_client.get(url).status_code == 404
    assert charlie_client.post(url, {"layout": "by-code"}).status_code == 404
    count = reverse("coding:export-count", args=[project.pk])
    assert charlie_client.get(count).status_code == 404
    alice_client.post(url, {"layout": "by-code", "context_words": "0", "language": "en"})
    job = Job.objects.get(kind=JobKind.EXPORT)
    assert charlie_client.get(reverse("coding:job-download", args=[job.pk])).status_code == 404
    assert alice_client.get(reverse("coding:job-download", args=[job.pk])).status_code == 200


def test_a_stranger_is_sent_to_log_in(client, project):
    response = client.get(reverse("coding:export", args=[project.pk]))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_a_supervisor_can_export_and_download(project, study, sue_client):
    url = reverse("coding:export", args=[project.pk])
    page = sue_client.get(url)
    assert page.status_code == 200
    assert b'name="layout"' in page.content
    response = sue_client.post(
        url, {"layout": "by-case", "context_words": "10", "language": "en", "codebook": "on"}
    )
    job = Job.objects.get(kind=JobKind.EXPORT)
    assert response.status_code == 302
    assert response["Location"] == reverse("coding:job-detail", args=[job.pk])
    assert job.status == JobStatus.DONE, job.message
    download = sue_client.get(reverse("coding:job-download", args=[job.pk]))
    data = b"".join(download.streaming_content)
    document = docx.Document(io.BytesIO(data))
    assert [t for s, t in body(document) if s == "Heading 1"][:2] == ["Drammen", "Sandnes"]
    assert job.result_name.endswith(".docx") and "by-case" in job.result_name


def test_the_job_runs_end_to_end_with_progress_a_message_and_the_template_removed(
    project, study, bob_client, settings
):
    url = reverse("coding:export", args=[project.pk])
    template = io.BytesIO(_template())
    template.name = "mal.docx"
    bob_client.post(
        url,
        {
            "layout": "by-code",
            "memos": "on",
            "context_words": "10",
            "language": "en",
            "codebook": "on",
            "template": template,
        },
    )
    job = Job.objects.get(kind=JobKind.EXPORT)
    assert job.status == JobStatus.DONE
    assert job.progress == 100
    assert job.message == "3 excerpts exported (4 quotes in 3 chapters)."
    assert job.params["memos"] is True and job.params["template_name"] == "mal.docx"
    assert not job.input_file  # the template was only needed for the run
    assert not list((settings.MEDIA_ROOT / "job-input").rglob("*.docx"))
    detail = bob_client.get(reverse("coding:job-detail", args=[job.pk]))
    assert reverse("coding:job-download", args=[job.pk]).encode() in detail.content
    with job.result_file.open("rb") as fh:
        document = docx.Document(fh)
    assert document.styles["Quote"].font.color.rgb == docx.shared.RGBColor(0xC0, 0x00, 0x00)
    listing = bob_client.get(url)
    assert job.result_name.encode() in listing.content


def test_a_bad_template_is_reported_on_the_page_and_starts_no_job(project, study, bob_client):
    upload = io.BytesIO(PDF)
    upload.name = "mal.docx"
    response = bob_client.post(
        reverse("coding:export", args=[project.pk]),
        {"layout": "by-code", "context_words": "0", "language": "en", "template": upload},
    )
    assert response.status_code == 200
    assert "mal.docx: a template must be a Word file" in response.content.decode()
    assert not Job.objects.filter(kind=JobKind.EXPORT).exists()


def test_the_page_exports_a_matrix_cell_it_was_linked_from(project, study, alice_client):
    forankring = study["codes"][0]
    drammen, _s = study["cases"]
    url = reverse("coding:export", args=[project.pk])
    query = (
        f"?layout=selection&codes={forankring.pk}&cell_row={drammen.pk}&cell_col={forankring.pk}"
    )
    page = alice_client.get(url + query).content.decode()
    assert f"Drammen × {forankring.name}" in page
    assert "These filters select <strong>1</strong> excerpt." in page
    alice_client.post(
        url,
        {
            "layout": "selection",
            "codes": [str(forankring.pk)],
            "cell_row": str(drammen.pk),
            "cell_col": str(forankring.pk),
            "context_words": "0",
            "language": "en",
        },
    )
    job = Job.objects.get(kind=JobKind.EXPORT)
    assert job.params["cell"] == {"row": str(drammen.pk), "col": str(forankring.pk)}
    assert job.params["filters"]["codes"] == [str(forankring.pk)]
    assert job.message.startswith("1 excerpt exported")


def test_the_count_fragment_follows_the_filters(project, study, alice_client):
    _d, sandnes = study["cases"]
    url = reverse("coding:export-count", args=[project.pk])
    codes = [str(c.pk) for c in study["codes"]]
    everything = alice_client.get(url, {"codes": codes}).content.decode()
    assert "<strong>3</strong> excerpts" in everything
    one = alice_client.get(url, {"codes": codes, "cases": [str(sandnes.pk)]}).content.decode()
    assert "<strong>1</strong> excerpt." in one


def test_a_selection_whose_code_is_gone_fails_with_a_message(project, study, alice):
    gone = max(c.pk for c in study["codes"]) + 1000  # e.g. deleted after the export was queued
    job = Job.objects.create(
        project=project,
        kind=JobKind.EXPORT,
        created_by=alice,
        params={"layout": "selection", "filters": {"codes": [str(gone)]}},
    )
    services.job_enqueue(job)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.message.startswith("codes:") and str(gone) in job.message
    assert not job.result_file


def test_expired_export_files_are_deleted_and_no_longer_served(
    project, study, alice_client, settings
):
    alice_client.post(
        reverse("coding:export", args=[project.pk]),
        {"layout": "by-code", "context_words": "0", "language": "en"},
    )
    job = Job.objects.get(kind=JobKind.EXPORT)
    path = job.result_file.path
    later = job.finished_at + dt.timedelta(hours=settings.EXPORT_RETENTION_HOURS, minutes=1)
    maintenance.purge_old_job_files(now=later - dt.timedelta(minutes=2))
    assert os.path.exists(path)
    maintenance.purge_old_job_files(now=later)
    assert not os.path.exists(path)
    assert alice_client.get(reverse("coding:job-download", args=[job.pk])).status_code == 404


# --- the command ----------------------------------------------------------------------------


def test_the_command_writes_every_layout(project, study, tmp_path, alice):
    for layout in ("by-code", "by-case", "selection", "framework"):
        out = tmp_path / f"{layout}.docx"
        call_command("export_word", project.pk, layout=layout, out=str(out), user="alice")
        document = docx.Document(out)
        assert document.paragraphs[0].text == "Bolig for velferd"
        assert any(p.style.name == "Quote" for p in document.paragraphs)


def test_the_command_refuses_a_user_who_is_not_a_member(project, study, tmp_path, charlie):
    with pytest.raises(CommandError, match="not a member"):
        call_command(
            "export_word",
            project.pk,
            layout="by-code",
            out=str(tmp_path / "x.docx"),
            user="charlie",
        )


# --- linear time, structurally --------------------------------------------------------------


def test_the_writer_never_scans_the_body(monkeypatch):
    """python-docx's add_paragraph finds w:sectPr by scanning the body (quadratic overall);
    the writer appends elements and keeps the sectPr aside, so it never calls it."""

    def refuse(*args, **kwargs):
        raise AssertionError("add_paragraph scans the whole body")

    monkeypatch.setattr(DocxDocument, "add_paragraph", refuse)
    writer = DocxWriter()
    for i in range(50):
        writer.paragraph(f"avsnitt {i}", "Quote")
    buf = io.BytesIO()
    writer.save(buf)
    document = docx.Document(io.BytesIO(buf.getvalue()))
    assert len(document.paragraphs) == 50
    assert document.element.body[-1].tag == f"{W}sectPr"


# --- LibreOffice ----------------------------------------------------------------------------


def _pdf_pages(path) -> int:
    """pdfinfo's page count where poppler-utils is installed, else count the page objects."""
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True)
        return int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.M).group(1))
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", path.read_bytes()))


@pytest.mark.parametrize("layout", ["by-code", "by-case", "selection", "framework", "report"])
def test_every_layout_opens_in_libreoffice_with_a_plausible_page_count(
    project, study, tmp_path, layout
):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        if REQUIRE_SERVICES:
            pytest.fail("LibreOffice (soffice) is required (REQUIRE_SERVICES=1) but missing")
        pytest.skip("LibreOffice (soffice) is not installed")
    params = {"filters": {"codes": [str(c.pk) for c in study["codes"]]}}
    _document, stats, data = export(project, layout, memos=True, context_words=10, **params)
    source = tmp_path / f"{layout}.docx"
    source.write_bytes(data)
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{tmp_path}/lo-profile",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pages = _pdf_pages(tmp_path / f"{layout}.pdf")
    # Title page, contents, at least one page of quotes, the codebook appendix; and never more
    # pages than a generous page per quote beside those.
    assert 4 <= pages <= 6 + stats.quotes + len(study["codes"])
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", str(tmp_path / f"{layout}.pdf"), "-"],
            capture_output=True,
            check=True,
            text=True,
        ).stdout
        assert "Bolig for velferd" in text
        assert "Strategien ga oss" in text


ENGLISH_LABELS = (
    "Made by",
    "Made:",
    "Context before",
    "Context after",
    "Coder",
    "Codes:",
    "Coded by",
    "(default)",
    "excerpt",
    "paragraph",
    "Memo by",
    "Contents",
)


@pytest.mark.parametrize("layout", ["by-code", "by-case", "framework"])
def test_a_norwegian_export_has_no_english_label_and_counts_each_number_on_its_own(
    project, study, layout
):
    """ "Made by:", "Context before:" and "(default)" stayed English, "Koder" meant both coder
    and codes, and "71 utdrag fra 1 caser" took the plural of the excerpts for the cases."""
    document, _stats, _data = export(project, layout, language="nb", memos=True, context_words=3)
    texts = [t for _s, t in body(document)] + [
        cell.text for table in document.tables for row in table.rows for cell in row.cells
    ]
    for label in ENGLISH_LABELS:
        assert not [t for t in texts if label in t], label
    sources = [t for s, t in body(document) if s == "Excerpt Source"]
    assert sources and all("Kodet av: " in t and re.search(r" · Koder?: ", t) for t in sources)
    assert not [t for t in texts if re.search(r"\b1 (caser|koder|kapitler|sitater)\b", t)]


def test_the_file_properties_name_the_project_and_the_user(project, study):
    document, _stats, _data = export(project, "by-code", language="nb")
    props = document.core_properties
    assert props.author == "Alice Eier" and props.last_modified_by == "Alice Eier"
    assert props.title.startswith("Bolig for velferd")
    assert "python-docx" not in f"{props.author} {props.comments} {props.title}"


def test_case_attributes_in_word_tables_use_norwegian_numbers(project, study):
    from decimal import Decimal

    from coding.models import AttributeDefinition, AttributeValue

    case = study["transcripts"][0].case  # Drammen: Innbyggere 100581
    d = AttributeDefinition.objects.create(
        project=project, target="case", name="Andel", kind="decimal"
    )
    AttributeValue.objects.create(definition=d, case=case, value_decimal=Decimal("1.1"))
    document, _stats, _data = export(project, "by-case", language="nb")
    cells = {
        row.cells[0].text: row.cells[1].text for table in document.tables for row in table.rows
    }
    assert cells["Innbyggere"] == "100\xa0581" and cells["Andel"] == "1,1"


def test_the_writer_streams_the_body_and_holds_only_the_table_of_contents():
    """Memory flat in the length of the document: each paragraph goes to the writer's
    temporary file as it is written; only the table of contents waits for its headings."""
    writer = DocxWriter()
    writer.paragraph("Tittel", "Title")
    toc = writer.toc("Innhold", "Oppdater feltet.")
    writer.styles.add_paragraph_style("toc 1")
    for i in range(2000):
        if i % 500 == 0:
            writer.heading(f"Kapittel {i}", 1)
        else:
            writer.paragraph(f"avsnitt {i} <&> æøå", "Quote")
    writer.table([("A", "B"), ("1", "2")])
    writer.section_break(landscape=True)
    assert len(writer.body) == 0, "no paragraph is kept in the document's tree"
    assert sum(len(x) for x in writer._pending) < 1 << 19
    toc.fill([(1, f"Kapittel {i}") for i in range(0, 2000, 500)])
    buf = io.BytesIO()
    writer.save(buf)
    document = docx.Document(io.BytesIO(buf.getvalue()))
    texts = [p.text for p in document.paragraphs]
    assert texts[:3] == ["Tittel", "Innhold", "Kapittel 0"]  # the TOC's cached entries
    assert texts[3:6] == ["Kapittel 500", "Kapittel 1000", "Kapittel 1500"]
    assert texts[6] == "Kapittel 0" and texts[7] == "avsnitt 1 <&> æøå"
    assert len(document.tables) == 1 and document.tables[0].cell(1, 1).text == "2"
    assert document.element.body[-1].tag == f"{W}sectPr"
    assert len(document.sections) == 2


def test_a_template_that_maps_the_namespace_elsewhere_still_gets_a_valid_body():
    from coding.exports import wordml

    writer = DocxWriter()
    writer._decl = wordml.W_DECL  # as if the root did not map "w" to WordprocessingML
    writer.paragraph("én", "Quote")
    writer.page_break()
    writer.table([("A",), ("1",)])
    writer.section_break(landscape=False)
    buf = io.BytesIO()
    writer.save(buf)
    document = docx.Document(io.BytesIO(buf.getvalue()))
    assert [p.text for p in document.paragraphs][:1] == ["én"]
    assert document.tables[0].cell(1, 0).text == "1"
