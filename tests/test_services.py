import pytest
from django.core.exceptions import ValidationError

from coding import services
from coding.models import AuditEvent, Coding, Excerpt

from .factories import CodeFactory, TranscriptFactory


@pytest.fixture
def transcript(case):
    return TranscriptFactory(case=case, text="I: Hvordan går det?\n\nIP: Blåbær 😀 og æøå.")


def test_it_codes_a_passage_and_copies_its_text(transcript, codes, bob):
    start = transcript.text.index("Blåbær")
    end = len(transcript.text)
    excerpt, created = services.excerpt_code(
        transcript=transcript, start=start, end=end, codes=codes[:2], coder=bob
    )
    assert excerpt.text == "Blåbær 😀 og æøå."
    assert excerpt.paragraph == 2
    assert {c.tag.name for c in created} == {"Forankring og eierskap", "Kompetanse"}
    event = AuditEvent.objects.get(action="coding_add")
    assert event.actor == bob and event.details["start"] == start


def test_coding_the_same_span_again_reuses_the_excerpt_and_skips_duplicates(transcript, codes, bob):
    services.excerpt_code(transcript=transcript, start=0, end=5, codes=codes[:1], coder=bob)
    _e, created = services.excerpt_code(
        transcript=transcript, start=0, end=5, codes=codes[:2], coder=bob
    )
    assert [c.tag for c in created] == [codes[1]]
    assert Excerpt.objects.count() == 1 and Coding.objects.count() == 2


@pytest.mark.parametrize(("start", "end"), [(-1, 4), (3, 3), (5, 2), (0, 10_000), (2, 3)])
def test_it_refuses_spans_outside_reversed_empty_or_blank(transcript, codes, bob, start, end):
    if (start, end) == (2, 3):
        transcript.text = "I:   x"
        transcript.save()
    with pytest.raises(ValidationError):
        services.excerpt_code(transcript=transcript, start=start, end=end, codes=codes, coder=bob)
    assert Excerpt.objects.count() == 0


def test_it_rejects_a_code_from_another_codebook(transcript, bob):
    foreign = CodeFactory(name="Kompetanse")  # another project's codebook
    with pytest.raises(ValidationError) as exc:
        services.excerpt_code(transcript=transcript, start=0, end=5, codes=[foreign], coder=bob)
    assert exc.value.code == "foreign_code"
    assert Excerpt.objects.count() == 0, "nothing half-saved"


def test_codes_are_never_applied_by_name(transcript, codes, bob):
    with pytest.raises(TypeError):
        services.excerpt_code(
            transcript=transcript, start=0, end=5, codes=["Kompetanse"], coder=bob
        )


def test_removing_the_last_coding_removes_the_bare_excerpt(transcript, codes, bob):
    _e, created = services.excerpt_code(
        transcript=transcript, start=0, end=5, codes=codes[:1], coder=bob
    )
    services.coding_remove(coding=created[0], actor=bob)
    assert Excerpt.objects.count() == 0
    assert AuditEvent.objects.filter(action="coding_remove").count() == 1


def test_a_memo_keeps_its_excerpt_alive(transcript, codes, bob, project):
    excerpt, created = services.excerpt_code(
        transcript=transcript, start=0, end=5, codes=codes[:1], coder=bob
    )
    services.memo_save(project=project, author=bob, excerpt=excerpt, text="Viktig sitat")
    services.coding_remove(coding=created[0], actor=bob)
    assert Excerpt.objects.filter(pk=excerpt.pk).exists()


def test_memos_are_limited_in_size_and_scoped_to_the_project(transcript, project, bob, settings):
    settings.MEMO_MAX_CHARS = 10
    with pytest.raises(ValidationError):
        services.memo_save(project=project, author=bob, text="x" * 11)
    other = TranscriptFactory()
    with pytest.raises(ValidationError):
        services.memo_save(project=project, author=bob, transcript=other, text="ok")


def test_every_way_of_making_or_moving_an_excerpt_fills_its_span_fields_alike(
    transcript, codes, bob, alice, project
):
    """The text copy, paragraph and word count come from one rule (Excerpt.span_fields) on
    every path: hand coding, a search batch, an imported project, a resize and an undo."""
    from coding import nlp

    text = transcript.text
    at = text.index("Blåbær")
    services.excerpt_code(transcript=transcript, start=0, end=7, codes=codes[:1], coder=bob)
    services.search_code_apply(
        project=project, code=codes[1], passages=[(transcript, at, at + 9)], coder=bob
    )
    services.excerpts_import(
        transcript=transcript,
        spans=[services.ImportedSpan(at, len(text), alice, None, ((codes[2], alice, None),))],
        actor=alice,
    )
    moved, _c = services.excerpt_code(
        transcript=transcript, start=3, end=7, codes=codes[2:], coder=bob
    )
    services.excerpt_resize(excerpt=moved, start=3, end=at + 6, actor=bob)
    services.coding_remove(coding=Coding.objects.get(tag=codes[0]), actor=bob)
    services.coding_undo(transcript=transcript, actor=bob)  # re-creates the removed excerpt
    excerpts = list(Excerpt.objects.filter(transcript=transcript))
    spans = {(x.start, x.end) for x in excerpts}
    assert spans == {(0, 7), (3, at + 6), (at, at + 9), (at, len(text))}
    for x in excerpts:
        assert x.text == text[x.start : x.end]
        assert x.word_count == nlp.count_words(x.text) > 0
        assert x.paragraph == transcript.paragraph_of(x.start)


def test_a_coding_added_while_the_last_one_is_removed_is_never_orphaned(
    case, codes, bob, alice, transactional_db
):
    """The load test's race on PostgreSQL: alice removes the last coding of a passage (which
    drops the bare excerpt) while bob codes the same passage. Foreign keys are checked at commit,
    so without the excerpt lock one of the two commits failed with an IntegrityError."""
    import threading

    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time; the race needs PostgreSQL (bin/test)")
    transcript = TranscriptFactory(case=case, text="I: Hvordan går det?\n\nIP: Blåbær og æøå.")
    start = transcript.text.index("Blåbær")
    end = start + 6
    excerpt, (last,) = services.excerpt_code(
        transcript=transcript, start=start, end=end, codes=codes[:1], coder=alice
    )
    removed = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def remove() -> None:
        try:
            with transaction.atomic():
                services.coding_remove(coding=last, actor=alice)
                removed.set()
                release.wait(10)  # bob's coding starts while this is uncommitted
        except BaseException as exc:
            errors.append(exc)
        finally:
            removed.set()
            connection.close()

    def code() -> None:
        try:
            removed.wait(10)
            threading.Timer(0.3, release.set).start()
            services.excerpt_code(
                transcript=transcript, start=start, end=end, codes=codes[1:2], coder=bob
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            release.set()
            connection.close()

    threads = [threading.Thread(target=remove), threading.Thread(target=code)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    (kept,) = Excerpt.objects.filter(transcript=transcript)
    assert (kept.start, kept.end) == (start, end)
    assert [(c.tag_id, c.coder_id) for c in kept.codings.all()] == [(codes[1].pk, bob.pk)]


def test_a_memo_takes_only_its_projects_memo_types(project, alice):
    from coding.models import MemoType

    from .factories import ProjectFactory

    memo = services.memo_save(project=project, author=alice, text="Notat")
    mine = MemoType.objects.create(project=project, name="Metode")
    other = MemoType.objects.create(project=ProjectFactory(), name="Metode")
    with pytest.raises(ValidationError):
        services.memo_type_assign(memo=memo, memo_type=other)
    memo.refresh_from_db()
    assert memo.memo_type is None
    services.memo_type_assign(memo=memo, memo_type=mine)
    memo.refresh_from_db()
    assert memo.memo_type == mine
    services.memo_type_assign(memo=memo, memo_type=None)
    memo.refresh_from_db()
    assert memo.memo_type is None


def test_the_first_code_of_a_project_makes_its_one_codebook(alice_client, alice, project):
    from django.urls import reverse

    from coding.models import Codebook

    assert not Codebook.objects.filter(project=project).exists()
    url = reverse("coding:codebook-add", args=[project.pk])
    for name in ("Kompetanse", "Forankring"):
        assert alice_client.post(url, {"name": name, "color": "#f4d03f"}).status_code == 302
    (codebook,) = Codebook.objects.filter(project=project)
    assert services.codebook_ensure(project=project) == codebook
    assert sorted(codebook.codes.values_list("name", flat=True)) == ["Forankring", "Kompetanse"]
