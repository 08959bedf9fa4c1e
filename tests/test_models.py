import pytest
from django.db import IntegrityError, transaction
from django.utils import translation

from coding.models import (
    AttributeDefinition,
    AttributeValue,
    Code,
    CodeHierarchy,
    Coding,
    Excerpt,
    Job,
    JobKind,
    Memo,
    coded_chars,
)

from .factories import CodebookFactory, CodeFactory, TranscriptFactory, UserFactory


def violates(fn) -> bool:
    try:
        with transaction.atomic():
            fn()
    except IntegrityError:
        return True
    return False


@pytest.mark.django_db
def test_an_excerpt_must_start_before_it_ends():
    t = TranscriptFactory()
    assert violates(lambda: Excerpt.objects.create(transcript=t, start=5, end=5, text=""))
    assert violates(lambda: Excerpt.objects.create(transcript=t, start=6, end=5, text=""))
    assert not violates(lambda: Excerpt.objects.create(transcript=t, start=0, end=5, text="I: Hv"))


@pytest.mark.django_db
def test_one_span_is_one_excerpt():
    t = TranscriptFactory()
    Excerpt.objects.create(transcript=t, start=0, end=5, text="x")
    assert violates(lambda: Excerpt.objects.create(transcript=t, start=0, end=5, text="x"))


@pytest.mark.django_db
def test_code_names_are_unique_per_codebook_not_site_wide():
    a, b = CodebookFactory(), CodebookFactory()
    Code.objects.create(codebook=a, name="Kompetanse")
    Code.objects.create(codebook=b, name="Kompetanse")  # another codebook: allowed
    assert violates(lambda: Code.objects.create(codebook=a, name="Kompetanse"))


@pytest.mark.django_db
def test_code_slugs_are_scoped_to_the_codebook():
    a, b = CodebookFactory(), CodebookFactory()
    c1 = Code.objects.create(codebook=a, name="Økonomiske ressurser")
    c2 = Code.objects.create(codebook=b, name="Økonomiske ressurser")
    assert c1.slug == c2.slug == "økonomiske-ressurser"


@pytest.mark.django_db
def test_a_code_colour_must_be_hex_and_shortcuts_unique():
    cb = CodebookFactory()
    assert violates(lambda: Code.objects.create(codebook=cb, name="x", color="red"))
    Code.objects.create(codebook=cb, name="a", shortcut="1")
    assert violates(lambda: Code.objects.create(codebook=cb, name="b", shortcut="1"))
    # Several codes may have no shortcut.
    Code.objects.create(codebook=cb, name="c")
    Code.objects.create(codebook=cb, name="d")


@pytest.mark.django_db
def test_a_coder_applies_a_code_once_per_excerpt():
    t = TranscriptFactory()
    code = CodeFactory(codebook__project=t.case.project)
    user = UserFactory()
    e = Excerpt.objects.create(transcript=t, start=0, end=5, text="x")
    Coding.objects.create(tag=code, content_object=e, coder=user)
    assert violates(lambda: Coding.objects.create(tag=code, content_object=e, coder=user))
    Coding.objects.create(tag=code, content_object=e, coder=UserFactory())  # another coder


@pytest.mark.django_db
def test_a_memo_has_at_most_one_target_and_some_text():
    t = TranscriptFactory()
    user = UserFactory()
    p = t.case.project
    assert violates(
        lambda: Memo.objects.create(project=p, author=user, text="x", transcript=t, case=t.case)
    )
    assert violates(lambda: Memo.objects.create(project=p, author=user, text=""))
    Memo.objects.create(project=p, author=user, text="Prosjektnotat")


@pytest.mark.django_db
def test_job_progress_stays_between_0_and_100():
    p = TranscriptFactory().case.project
    assert violates(lambda: Job.objects.create(project=p, kind=JobKind.IMPORT, progress=101))


@pytest.mark.django_db
def test_an_attribute_value_belongs_to_a_case_or_an_informant_not_both():
    t = TranscriptFactory()
    d = AttributeDefinition.objects.create(
        project=t.case.project, target="case", name="Innbyggere", kind="integer"
    )
    assert violates(lambda: AttributeValue.objects.create(definition=d, value_integer=1))
    v = AttributeValue.objects.create(definition=d, case=t.case, value_integer=100581)
    assert v.display() == "100,581"  # shown in the active language (tests run in English)
    with translation.override("nb"):
        assert v.display() == "100\xa0581"
    assert violates(lambda: AttributeValue.objects.create(definition=d, case=t.case))


def test_coded_chars_counts_overlaps_once():
    assert coded_chars([]) == 0
    assert coded_chars([(0, 10), (5, 15), (20, 25)]) == 20
    assert coded_chars([(3, 4), (0, 10)]) == 10


@pytest.mark.django_db
def test_paragraph_numbers_follow_non_empty_lines():
    t = TranscriptFactory(text="Første.\n\nI: Andre.\n\nIP: Tredje.")
    starts = t.paragraph_starts()
    assert starts == [0, 9, 20]
    assert t.paragraph_of(0) == 1
    assert t.paragraph_of(12) == 2
    assert t.paragraph_of(len(t.text) - 1) == 3


@pytest.mark.django_db
def test_the_code_tree_walk_is_depth_first_in_order_and_ends_on_a_cycle():
    book = CodebookFactory()
    a = CodeFactory(codebook=book, name="A", order=0)
    b = CodeFactory(codebook=book, name="B", order=1)
    a2 = CodeFactory(codebook=book, name="A2", parent=a, order=1)
    a1 = CodeFactory(codebook=book, name="A1", parent=a, order=0)
    a1x = CodeFactory(codebook=book, name="A1x", parent=a1, order=0)
    tree = Code.objects.filter(codebook=book).in_tree_order()
    assert [(c.name, c.depth) for c in tree] == [
        ("A", 0),
        ("A1", 1),
        ("A1x", 2),
        ("A2", 1),
        ("B", 0),
    ]
    assert a.descendant_ids() == {a1.pk, a2.pk, a1x.pk}
    assert b.descendant_ids() == set()
    walker = CodeHierarchy(tree)
    assert walker.ancestors(a1x.pk) == [a1.pk, a.pk]
    assert [c.name for c in walker.below(a.pk)] == ["A1", "A1x", "A2"]
    # A cycle no write makes (a code under its own sub-code) ends the walk instead of looping.
    Code.objects.filter(pk=a.pk).update(parent=a1x)
    assert a1.descendant_ids() == {a1x.pk, a.pk, a2.pk}
    cyclic = CodeHierarchy(Code.objects.filter(codebook=book))
    assert len(cyclic.below(a1.pk)) == 3
    assert cyclic.ancestors(a.pk) == [a1x.pk, a1.pk]


def test_the_code_tree_is_walked_in_one_place():
    """Every walk of the hierarchy goes through models.CodeHierarchy: no other module groups
    codes by parent or recurses over children by hand (the five copies this replaced)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "coding"
    by_hand = re.compile(
        r"setdefault\(\w+\.parent_id|\[\w+\.parent_id\]\.(append|kids)|def (walk|_descendants)\("
    )
    found = [
        f"{path.relative_to(root)}:{n}"
        for path in root.rglob("*.py")
        if path.relative_to(root).parts[0] not in {"benchmarks", "migrations"}
        and path != root / "models" / "codebook.py"
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if by_hand.search(line)
    ]
    assert found == []
