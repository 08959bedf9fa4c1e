"""Key quotes: marked per researcher through services (audited), the stars fragment and its
access, the "key quotes only" filter of the matrix drill-down and of the Word export."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from coding import services
from coding.models import AuditAction, AuditEvent, Coding, KeyQuote

from . import test_export_word
from .test_export_word import export

study = test_export_word.study  # the study of the Word export tests, as a fixture here too


@pytest.fixture
def marked(study, alice, bob):
    """Alice marks the Drammen strategy passage for Forankring; bob marks nothing yet."""
    forankring = study["codes"][0]
    e1 = study["excerpts"][0]
    services.key_quote_set(excerpt=e1, code=forankring, user=alice, marked=True)
    return study


def test_a_key_quote_is_recorded_per_researcher_and_audited(marked, alice, bob):
    forankring = marked["codes"][0]
    e1 = marked["excerpts"][0]
    assert KeyQuote.objects.filter(excerpt=e1, code=forankring).count() == 1
    services.key_quote_set(excerpt=e1, code=forankring, user=bob, marked=True)
    assert set(KeyQuote.objects.filter(excerpt=e1).values_list("user__username", flat=True)) == {
        "alice",
        "bob",
    }
    # Alice unmarking leaves bob's mark.
    assert services.key_quote_set(excerpt=e1, code=forankring, user=alice, marked=False) is False
    assert list(KeyQuote.objects.filter(excerpt=e1).values_list("user__username", flat=True)) == [
        "bob"
    ]
    actions = list(
        AuditEvent.objects.filter(action__startswith="key_quote")
        .order_by("pk")
        .values_list("actor__username", "action")
    )
    assert actions == [
        ("alice", AuditAction.KEY_QUOTE_ADD),
        ("bob", AuditAction.KEY_QUOTE_ADD),
        ("alice", AuditAction.KEY_QUOTE_REMOVE),
    ]
    # Marking twice writes nothing more.
    services.key_quote_set(excerpt=e1, code=forankring, user=bob, marked=True)
    assert AuditEvent.objects.filter(action__startswith="key_quote").count() == 3


def test_only_a_passage_coded_with_the_code_can_be_its_key_quote(study, alice):
    kompetanse = study["codes"][1]
    e1 = study["excerpts"][0]  # coded Forankring and Brukermedvirkning, not Kompetanse
    with pytest.raises(ValidationError) as exc:
        services.key_quote_set(excerpt=e1, code=kompetanse, user=alice, marked=True)
    assert exc.value.code == "key_quote_uncoded"
    assert not KeyQuote.objects.exists()


def test_key_quotes_filter_keeps_only_marked_codings(marked, alice, bob):
    forankring = marked["codes"][0]
    e1 = marked["excerpts"][0]
    qs = Coding.objects.filter(tag=forankring).key_quotes()
    # Both coders' codings of the marked passage under the marked code, nothing else.
    assert {(c.content_object_id, c.tag_id) for c in qs} == {(e1.pk, forankring.pk)}
    assert qs.count() == 2
    assert Coding.objects.filter(tag=forankring).key_quotes(user=alice).count() == 2
    assert not Coding.objects.filter(tag=forankring).key_quotes(user=bob).exists()


def stars_url(excerpt):
    return reverse("coding:excerpt-key-quotes", args=[excerpt.pk])


def test_the_stars_fragment_marks_and_unmarks_without_a_page_load(marked, bob_client, bob, alice):
    e1 = marked["excerpts"][0]
    forankring = marked["codes"][0]
    page = bob_client.get(stars_url(e1)).content.decode()
    assert "Forankring og eierskap" in page and "Brukermedvirkning" in page
    assert 'aria-pressed="false"' in page  # bob has not marked it
    assert "alice" in page  # but he sees who did
    r = bob_client.post(
        stars_url(e1), {"code": forankring.pk, "marked": "1"}, HTTP_HX_REQUEST="true"
    )
    assert r.status_code == 200
    assert 'id="kq-%d"' % e1.pk in r.content.decode()
    assert 'aria-pressed="true"' in r.content.decode()
    assert KeyQuote.objects.filter(excerpt=e1, code=forankring, user=bob).exists()
    # Without htmx the form posts back to the page it came from.
    back = reverse("coding:transcript-detail", args=[e1.transcript_id])
    r = bob_client.post(stars_url(e1), {"code": forankring.pk, "marked": "0", "next": back})
    assert r.status_code == 302 and r["Location"] == back
    assert not KeyQuote.objects.filter(user=bob).exists()


def test_an_uncoded_code_is_refused_in_the_fragment(marked, bob_client):
    e1 = marked["excerpts"][0]
    kompetanse = marked["codes"][1]
    r = bob_client.post(
        stars_url(e1), {"code": kompetanse.pk, "marked": "1"}, HTTP_HX_REQUEST="true"
    )
    assert 'role="alert"' in r.content.decode()
    assert not KeyQuote.objects.filter(code=kompetanse).exists()


def test_supervisors_see_the_stars_but_may_not_mark_and_outsiders_get_404(
    marked, sue_client, charlie_client
):
    e1 = marked["excerpts"][0]
    forankring = marked["codes"][0]
    page = sue_client.get(stars_url(e1)).content.decode()
    assert "★" in page and "<button" not in page
    assert sue_client.post(stars_url(e1), {"code": forankring.pk, "marked": "1"}).status_code == 403
    assert charlie_client.get(stars_url(e1)).status_code == 404
    assert (
        charlie_client.post(stars_url(e1), {"code": forankring.pk, "marked": "1"}).status_code
        == 404
    )
    assert KeyQuote.objects.count() == 1


def test_a_code_of_another_codebook_is_404(marked, bob_client):
    from .factories import CodebookFactory, CodeFactory, ProjectFactory

    other = CodeFactory(codebook=CodebookFactory(project=ProjectFactory()), name="Fremmed")
    e1 = marked["excerpts"][0]
    r = bob_client.post(stars_url(e1), {"code": other.pk, "marked": "1"})
    assert r.status_code == 404


def test_the_drilldown_shows_stars_and_filters_key_quotes_only(marked, project, bob_client):
    forankring = marked["codes"][0]
    drammen, _sandnes = marked["cases"]
    url = reverse("coding:analysis-matrix-cell", args=[project.pk])
    query = {"row": "total", "col": forankring.pk, "codes": [forankring.pk]}
    everything = bob_client.get(url, query).content.decode()
    assert "Strategien ga oss" in everything and "boliger" in everything
    assert "marked by alice" in everything  # alice's star shows to bob
    assert 'aria-pressed="false"' in everything  # bob has not marked it himself
    assert "Key quotes only" in everything or "Bare nøkkelsitater" in everything
    only = bob_client.get(url, {**query, "key_quotes": "1"}).content.decode()
    assert "boliger" in only  # the marked Drammen passage
    assert "Strategien ga oss" not in only  # Sandnes, unmarked


def test_the_word_export_can_hold_key_quotes_only(marked, project):
    document, stats, _data = export(project, "by-code", key_quotes=True)
    quotes = [p.text for p in document.paragraphs if p.style.name == "Quote"]
    assert stats.excerpts == 1
    assert any("boliger" in q for q in quotes)
    assert not any("Strategien" in q for q in quotes)
    everything, all_stats, _ = export(project, "by-code")
    assert all_stats.excerpts == 3


def test_the_history_reads_key_quote_marks(marked, project, alice_client):
    page = alice_client.get(reverse("coding:project-history", args=[project.pk])).content.decode()
    assert "marked a passage as a key quote for Forankring og eierskap" in page
