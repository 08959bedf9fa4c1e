"""The search page, code from search (preview, apply as one batch, one undo), and access."""

import re
import uuid
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from coding import services
from coding.models import (
    AuditAction,
    AuditEvent,
    Coding,
    CodingSource,
    Excerpt,
    Job,
    JobKind,
    LemmaIndex,
    Membership,
    Role,
)

from .conftest import _client
from .factories import CaseFactory, CodeFactory, UserFactory
from .language_data import make_transcript, span_of


@pytest.fixture(autouse=True)
def _english(settings):
    """Assertions read the English UI text, whatever translations the catalogue holds."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def transcript(case, project):
    # The question is searched too: these tests count the interviewer's words (search's
    # restriction to interview text is tested in test_interview_text.py).
    project.interviewer_turns_are_interview_text = True
    project.save(update_fields=["interviewer_turns_are_interview_text"])
    return make_transcript(
        case,
        [
            "I: Hvordan tildeles boligene?",
            "IP: Tildelingen av boliger skjer i et utvalg. "
            "Boligene er få <script>alert(1)</script>.",
            "IP: Vi venter på flere boliger. Det tar tid.",
        ],
        title="Drammen: boligtjenesten",
    )


def search_url(project, **params) -> str:
    return reverse("coding:search", args=[project.pk]) + "?" + urlencode(params, doseq=True)


def hit_keys(html: str) -> list[str]:
    return re.findall(r'name="hit" value="([^"]+)"', html)


def test_the_search_page_shows_hits_in_context_grouped_with_links(
    alice_client, project, transcript
):
    response = alice_client.get(search_url(project, q="bolig"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "4 hits" in html
    assert "Drammen: boligtjenesten" in html
    s, e = span_of(transcript, "boliger", 1)
    link = (
        reverse("coding:transcript-detail", args=[transcript.pk])
        + f"?start={s}&amp;end={e}#pos-{s}"
    )
    assert link in html
    # Transcript text is escaped, never markup.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html


def test_counts_per_case_are_shown(alice_client, project, transcript):
    html = alice_client.get(search_url(project, q="bolig")).content.decode()
    assert re.search(r"<th scope=\"row\">Drammen</th>\s*<td class=\"n\">4</td>", html)


def test_a_bad_query_shows_its_message(alice_client, project, transcript):
    html = alice_client.get(search_url(project, q="bolig NEAR")).content.decode()
    assert "NEAR needs a word or phrase on each side" in html


def test_filters_from_another_project_are_refused(alice_client, project, transcript):
    foreign = CaseFactory(name="Fremmed")
    html = alice_client.get(search_url(project, q="bolig", case=foreign.pk)).content.decode()
    assert '<p class="error">' in html
    assert "4 hits" not in html


def post_code(client, project, action, **data):
    url = reverse(f"coding:search-code-{action}", args=[project.pk])
    return client.post(url, {"q": "bolig", "extent": "sentence", "scope": "all", **data})


def test_preview_counts_passages_and_codes_nothing(alice_client, project, codes, transcript):
    response = post_code(alice_client, project, "preview", code=codes[1].pk)
    html = response.content.decode()
    assert response.status_code == 200
    assert "4 sentences will be coded" in html
    assert "from 4 hits" in html
    assert Coding.objects.count() == 0


def test_apply_codes_every_hits_sentence_as_one_batch(
    alice_client, alice, project, codes, transcript
):
    response = post_code(alice_client, project, "apply", code=codes[1].pk)
    codings = list(Coding.objects.select_related("content_object"))
    assert response.status_code == 302
    assert {c.source for c in codings} == {CodingSource.SEARCH}
    assert len({c.batch for c in codings}) == 1 and codings[0].batch is not None
    assert {c.coder for c in codings} == {alice}
    spans = sorted(transcript.text[c.content_object.start : c.content_object.end] for c in codings)
    assert spans == sorted(
        [
            "Hvordan tildeles boligene?",
            "Tildelingen av boliger skjer i et utvalg.",
            "Boligene er få <script>alert(1)</script>.",
            "Vi venter på flere boliger.",
        ]
    )
    assert str(codings[0].batch) in response.url
    assert AuditEvent.objects.filter(action=AuditAction.CODING_ADD).count() == 4


def test_apply_can_extend_to_the_speaker_turn_and_code_only_ticked_hits(
    bob_client, project, codes, transcript
):
    html = bob_client.get(search_url(project, q="bolig")).content.decode()
    keys = hit_keys(html)
    last = [k for k in keys if int(k.split(":")[1]) > transcript.text.index("Vi venter")]
    post_code(
        bob_client, project, "apply", code=codes[0].pk, extent="turn", scope="selected", hit=last
    )
    (coding,) = Coding.objects.select_related("content_object")
    assert coding.content_object.text == "Vi venter på flere boliger. Det tar tid."


def test_a_posted_hit_that_is_not_a_hit_codes_nothing(bob_client, project, codes, transcript):
    response = post_code(
        bob_client,
        project,
        "apply",
        code=codes[0].pk,
        scope="selected",
        hit=[f"{transcript.pk}:0:5"],
    )
    assert response.status_code == 302
    assert Coding.objects.count() == 0


def test_one_undo_takes_back_the_whole_batch(alice_client, alice, project, codes, transcript):
    s, e = span_of(transcript, "Det tar tid.")
    services.excerpt_code(transcript=transcript, start=s, end=e, codes=[codes[1]], coder=alice)
    post_code(alice_client, project, "apply", code=codes[1].pk)
    batch = Coding.objects.exclude(batch=None).first().batch
    assert Coding.objects.count() == 5

    page = alice_client.get(reverse("coding:search-batch", args=[project.pk, batch]))
    assert "Undo" in page.content.decode()
    response = alice_client.post(reverse("coding:search-batch-undo", args=[project.pk, batch]))

    assert response.status_code == 302
    assert Coding.objects.count() == 1  # the coding made by hand stays
    assert Excerpt.objects.count() == 1
    undone = AuditEvent.objects.filter(action=AuditAction.CODING_REMOVE)
    assert undone.count() == 4
    assert {e.details["batch"] for e in undone} == {str(batch)}
    assert {e.details["source"] for e in undone} == {CodingSource.SEARCH}


def test_undo_in_the_transcript_skips_a_batch_already_undone(
    alice_client, alice, project, codes, transcript
):
    """Pressing U after undoing a search batch re-added one of its codings: the batch undo's
    removals now undo the batch's own events, so undo reaches the coder's earlier action."""
    s, e = span_of(transcript, "Det tar tid.")
    services.excerpt_code(transcript=transcript, start=s, end=e, codes=[codes[1]], coder=alice)
    post_code(alice_client, project, "apply", code=codes[1].pk)
    batch = Coding.objects.exclude(batch=None).first().batch
    alice_client.post(reverse("coding:search-batch-undo", args=[project.pk, batch]))
    assert Coding.objects.count() == 1

    assert services.undoable_event(transcript=transcript, actor=alice).details.get("batch") is None
    result = services.coding_undo(transcript=transcript, actor=alice)
    assert result is not None and result.event.details["start"] == s
    assert Coding.objects.count() == 0  # the hand coding went; no batch coding came back
    assert services.coding_undo(transcript=transcript, actor=alice) is None


def test_a_researcher_cannot_undo_anothers_batch_but_the_owner_can(
    alice_client, bob_client, project, codes, transcript
):
    post_code(bob_client, project, "apply", code=codes[0].pk)
    batch = Coding.objects.first().batch
    url = reverse("coding:search-batch-undo", args=[project.pk, batch])

    carl = UserFactory(username="carl")
    Membership.objects.create(project=project, user=carl, role=Role.RESEARCHER)
    assert _client(carl).post(url).status_code == 403
    assert alice_client.post(url).status_code == 302
    assert Coding.objects.count() == 0


def test_undo_of_an_unknown_batch_is_404(alice_client, project):
    url = reverse("coding:search-batch-undo", args=[project.pk, uuid.uuid4()])
    assert alice_client.post(url).status_code == 404


def test_the_supervisor_searches_but_may_not_code_or_undo(
    sue_client, bob_client, project, codes, transcript
):
    html = sue_client.get(search_url(project, q="bolig")).content.decode()
    assert "4 hits" in html and 'id="code-form"' not in html
    assert post_code(sue_client, project, "preview", code=codes[0].pk).status_code == 403
    assert post_code(sue_client, project, "apply", code=codes[0].pk).status_code == 403
    post_code(bob_client, project, "apply", code=codes[0].pk)
    batch = Coding.objects.first().batch
    assert (
        sue_client.post(reverse("coding:search-batch-undo", args=[project.pk, batch])).status_code
        == 403
    )
    assert sue_client.post(reverse("coding:search-reindex", args=[project.pk])).status_code == 403
    assert Coding.objects.count() == 4


def test_charlie_gets_404_everywhere(charlie_client, bob_client, project, codes, transcript):
    post_code(bob_client, project, "apply", code=codes[0].pk)
    batch = Coding.objects.first().batch
    assert charlie_client.get(search_url(project, q="bolig")).status_code == 404
    assert post_code(charlie_client, project, "preview", code=codes[0].pk).status_code == 404
    assert post_code(charlie_client, project, "apply", code=codes[0].pk).status_code == 404
    assert (
        charlie_client.get(reverse("coding:search-batch", args=[project.pk, batch])).status_code
        == 404
    )
    assert (
        charlie_client.post(
            reverse("coding:search-batch-undo", args=[project.pk, batch])
        ).status_code
        == 404
    )
    assert (
        charlie_client.post(reverse("coding:search-reindex", args=[project.pk])).status_code == 404
    )
    assert Coding.objects.count() == 4


def test_a_code_of_another_codebook_cannot_be_applied(alice_client, project, transcript):
    foreign = CodeFactory(name="Fremmed kode")
    response = post_code(alice_client, project, "apply", code=foreign.pk)
    assert response.status_code == 302
    assert Coding.objects.count() == 0


def test_a_stale_index_is_announced_and_rebuilt_by_a_job(alice_client, project, transcript):
    LemmaIndex.objects.update(version="old")
    html = alice_client.get(reverse("coding:search", args=[project.pk])).content.decode()
    assert "older language pipeline" in html
    response = alice_client.post(reverse("coding:search-reindex", args=[project.pk]))
    job = Job.objects.get(kind=JobKind.REINDEX)
    assert response.url == reverse("coding:job-detail", args=[job.pk])
    html = alice_client.get(reverse("coding:search", args=[project.pk])).content.decode()
    assert "older language pipeline" not in html


def test_kwic_shows_punctuation_right_after_the_hit(alice_client, project, transcript):
    """ "bolig , noen": the context was set off by a gap on both sides even where the text has
    none."""
    r = alice_client.get(reverse("coding:search", args=[project.pk]), {"q": "tid"})
    hits = [h for g in r.context["result"].groups for h in g.hits]
    glued = [h for h in hits if h.right.startswith(".")]
    assert glued and all(not h.spaced_right for h in glued)
    assert 'class="kwic-right glued"' in r.content.decode()
    assert all(h.spaced_left for h in hits)


def test_the_coded_with_filter_lists_codes_in_codebook_order(alice_client, project, codes):
    from .factories import CodeFactory

    parent = codes[1]
    sub = CodeFactory(codebook=parent.codebook, name="Aaa under Kompetanse", parent=parent)
    r = alice_client.get(reverse("coding:search", args=[project.pk]))
    field = r.context["form"].fields["with_code"]
    labels = [label for value, label in field.choices if value]
    assert labels == [codes[0].name, parent.name, f"\u2003{sub.name}", codes[2].name]


def test_key_quotes_only_keeps_the_hits_inside_a_passage_marked_as_one(
    alice_client, alice, project, codes, transcript
):
    """Issue 17: "key quotes only" in search, as in the matrix drill-down and the Word export."""
    text = transcript.text
    marked_at = text.index("Tildelingen av boliger")
    plain_at = text.index("Vi venter på flere boliger")
    marked, _ = services.excerpt_code(
        transcript=transcript,
        start=marked_at,
        end=marked_at + len("Tildelingen av boliger"),
        codes=[codes[0]],
        coder=alice,
    )
    services.excerpt_code(
        transcript=transcript,
        start=plain_at,
        end=plain_at + len("Vi venter på flere boliger"),
        codes=[codes[0]],
        coder=alice,
    )
    assert services.key_quote_set(excerpt=marked, code=codes[0], user=alice, marked=True)
    s, e = span_of(transcript, "boliger", 1)
    assert marked.start <= s < e <= marked.end  # the one hit inside the key quote

    coded = hit_keys(
        alice_client.get(search_url(project, q="bolig", coded="coded")).content.decode()
    )
    assert len(coded) == 2  # both coded passages hold a hit
    only = hit_keys(
        alice_client.get(search_url(project, q="bolig", key_quotes="on")).content.decode()
    )
    assert only == [f"{transcript.pk}:{s}:{e}"]
    # The mark is for codes[0]: with another code chosen, nothing is a key quote.
    other = search_url(project, q="bolig", key_quotes="on", coded="coded", with_code=codes[1].pk)
    assert hit_keys(alice_client.get(other).content.decode()) == []
    # Outside every coded passage and a key quote at once: refused, saying why.
    refused = alice_client.get(search_url(project, q="bolig", key_quotes="on", coded="uncoded"))
    html = refused.content.decode()
    assert "cannot be outside one too" in html and hit_keys(html) == []
