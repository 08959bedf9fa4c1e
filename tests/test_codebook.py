"""The codebook editor (coding.views.codebook) and the code services behind it."""

import threading
import time
from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from coding import services
from coding.models import (
    AuditAction,
    AuditEvent,
    Code,
    Coding,
    CodingLayer,
    Excerpt,
    KeyQuote,
    Membership,
    Memo,
    Role,
    name_key,
)

from .factories import CodeFactory, TranscriptFactory

TEXT = "I: Hvordan jobber dere?\n\nIP: Vi samarbeider tett med NAV om boliger."


@pytest.fixture
def transcript(case):
    return TranscriptFactory(case=case, text=TEXT)


@pytest.fixture
def foreign_code(db):
    """A code in another project's codebook."""
    return CodeFactory(name="Fremmed kode")


def code_on(transcript, span, codes, coder):
    excerpt, _created = services.excerpt_code(
        transcript=transcript, start=span[0], end=span[1], codes=codes, coder=coder
    )
    return excerpt


def editor(project):
    return reverse("coding:codebook", args=[project.pk])


def url(name, code):
    return reverse(f"coding:codebook-{name}", args=[code.pk])


def tree_names(codebook):
    return [(c.depth, c.name) for c in Code.objects.filter(codebook=codebook).in_tree_order()]


def errors_of(response) -> str:
    return response.content.decode()


# --- the editor page -------------------------------------------------------------------------


def test_the_editor_shows_codes_in_tree_order_with_their_fields_and_counts(
    alice_client, codebook, codes, transcript, bob
):
    child = services.code_create(
        codebook=codebook,
        actor=bob,
        name="Lederforankring",
        parent=codes[0],
        short_name="LF",
        definition="Ledelsen står bak.",
        inclusion="Når rådmannen nevnes.",
        exclusion="Ikke politikere.",
        example="«Rådmannen har vært tydelig»",
        keywords="rådmann\nledelse",
    )
    code_on(transcript, (0, 5), [child, codes[1]], bob)
    code_on(transcript, (5, 10), [child], bob)
    response = alice_client.get(editor(codebook.project))
    assert response.status_code == 200
    page = response.content.decode()
    order = [page.index(f'id="code-{c.pk}"') for c in (codes[0], child, codes[1], codes[2])]
    assert order == sorted(order), "the sub-code sits right under its parent"
    for text in ("LF", "Ledelsen står bak.", "Når rådmannen nevnes.", "Ikke politikere."):
        assert text in page
    assert '<span class="tag">rådmann</span><span class="tag">ledelse</span>' in page
    assert codes[0].color in page
    child_row = page[page.index(f'id="code-{child.pk}"') :]
    assert '<span class="n">2</span>' in child_row[: child_row.index("</li>")]
    assert "Σ 2" in page, "the parent shows the total with its sub-codes"
    assert reverse("coding:codebook-add", args=[codebook.project.pk]) in page


def test_a_supervisor_sees_the_codebook_without_any_control(sue_client, codebook, codes):
    response = sue_client.get(editor(codebook.project))
    page = response.content.decode()
    assert response.status_code == 200
    assert codes[1].name in page
    for control in (
        reverse("coding:codebook-add", args=[codebook.project.pk]),
        url("move", codes[0]),
        url("edit", codes[0]),
        url("merge", codes[0]),
        url("delete", codes[0]),
        "codebook.js",
        'draggable="true"',
    ):
        assert control not in page


def test_an_empty_project_gets_a_codebook_with_its_first_code(alice_client, project, alice):
    response = alice_client.get(editor(project))
    assert "The codebook has no codes yet." in response.content.decode()
    response = alice_client.post(
        reverse("coding:codebook-add", args=[project.pk]), {"name": "Første", "color": "#123456"}
    )
    assert response.status_code == 302
    assert Code.objects.get(codebook__project=project).name == "Første"


# --- access ----------------------------------------------------------------------------------


def test_charlie_gets_404_on_every_codebook_page(charlie_client, codebook, codes):
    project = codebook.project
    assert charlie_client.get(editor(project)).status_code == 404
    add = reverse("coding:codebook-add", args=[project.pk])
    assert charlie_client.post(add, {"name": "X", "color": "#123456"}).status_code == 404
    for name in ("edit", "merge", "delete"):
        assert charlie_client.get(url(name, codes[0])).status_code == 404
    for name in ("edit", "move", "merge", "delete"):
        assert charlie_client.post(url(name, codes[0]), {"name": "X"}).status_code == 404
    assert Code.objects.filter(codebook=codebook).count() == 3


def test_sue_gets_403_on_every_write(sue_client, codebook, codes):
    project = codebook.project
    add = reverse("coding:codebook-add", args=[project.pk])
    assert sue_client.post(add, {"name": "X", "color": "#123456"}).status_code == 403
    edit = {"name": "Nytt navn", "color": "#123456"}
    assert sue_client.post(url("edit", codes[0]), edit).status_code == 403
    assert sue_client.post(url("move", codes[1]), {"direction": "up"}).status_code == 403
    target = {"target": codes[1].pk}
    assert sue_client.get(url("merge", codes[0]), target).status_code == 403
    assert sue_client.post(url("merge", codes[0]), target).status_code == 403
    assert sue_client.get(url("delete", codes[0])).status_code == 403
    assert sue_client.post(url("delete", codes[0])).status_code == 403
    assert [c.name for c in Code.objects.order_by("order")] == [c.name for c in codes]
    assert not AuditEvent.objects.exists()


def test_a_supervisor_following_an_edit_link_lands_on_the_read_only_editor(sue_client, codes):
    response = sue_client.get(url("edit", codes[0]))
    assert response.status_code == 302
    assert response["Location"].startswith(editor(codes[0].codebook.project))


def test_a_code_of_another_project_is_404(alice_client, foreign_code):
    for name in ("edit", "merge", "delete"):
        assert alice_client.get(url(name, foreign_code)).status_code == 404
    assert alice_client.post(url("move", foreign_code), {"direction": "up"}).status_code == 404
    assert alice_client.post(url("delete", foreign_code)).status_code == 404
    assert Code.objects.filter(pk=foreign_code.pk).exists()


def test_a_posted_code_id_from_another_project_is_404_even_for_a_member_of_both(
    alice_client, alice, codebook, codes, foreign_code
):
    Membership.objects.create(project=foreign_code.codebook.project, user=alice, role=Role.OWNER)
    add = reverse("coding:codebook-add", args=[codebook.project.pk])
    posted = {"name": "Ny", "color": "#123456", "parent": foreign_code.pk}
    assert alice_client.post(add, posted).status_code == 404
    moved = {"parent": foreign_code.pk, "position": 0}
    assert alice_client.post(url("move", codes[0]), moved).status_code == 404
    edit = {"name": codes[0].name, "color": "#123456", "parent": foreign_code.pk}
    assert alice_client.post(url("edit", codes[0]), edit).status_code == 404
    merge = {"target": foreign_code.pk}
    assert alice_client.get(url("merge", codes[0]), merge).status_code == 404
    assert alice_client.post(url("merge", codes[0]), merge).status_code == 404
    assert Code.objects.filter(pk=codes[0].pk, parent=None).exists()
    assert not Code.objects.filter(name="Ny").exists()


# --- add, rename, recolour, describe ---------------------------------------------------------


def test_a_researcher_adds_a_code_under_a_parent_at_the_end(bob_client, bob, codebook, codes):
    first = services.code_create(codebook=codebook, actor=bob, name="Første", parent=codes[0])
    response = bob_client.post(
        reverse("coding:codebook-add", args=[codebook.project.pk]),
        {
            "name": "  Andre   under  ",
            "color": "#A1B2C3",
            "parent": codes[0].pk,
            "shortcut": "Q",
            "keywords": "bolig\n\n  NAV  \nbolig\n",
        },
    )
    assert response.status_code == 302
    code = Code.objects.get(name="Andre under")
    assert code.parent == codes[0] and code.order == first.order + 1
    assert code.color == "#a1b2c3" and code.shortcut == "q"
    assert code.keywords == "bolig\nNAV", "one keyword per line, blanks and repeats dropped"
    assert response["Location"].endswith(f"#code-{code.pk}")
    event = AuditEvent.objects.get(action=AuditAction.CODE_CREATE, details__name="Andre under")
    assert event.actor == bob and event.details["parent"] == codes[0].name


def test_a_new_code_takes_the_first_unused_palette_colour(codebook, bob):
    codebook.codes.all().delete()
    first = services.code_create(codebook=codebook, actor=bob, name="A")
    second = services.code_create(codebook=codebook, actor=bob, name="B")
    assert (first.color, second.color) == services.CODE_PALETTE[:2]


def test_a_duplicate_name_is_refused_with_a_clear_error(alice_client, codebook, codes):
    response = alice_client.post(
        reverse("coding:codebook-add", args=[codebook.project.pk]),
        {"name": "kompetanse", "color": "#123456"},
    )
    assert response.status_code == 400
    assert "The codebook already has a code called “Kompetanse”." in errors_of(response)
    assert Code.objects.filter(codebook=codebook).count() == 3


@pytest.mark.parametrize(
    ("existing", "posted"),
    [
        ("Ærlige svar", "ærlige svar"),
        ("ærlige svar", "ÆRLIGE SVAR"),
        ("Åpenhet", "A\u030apenhet"),  # the same letter, decomposed (NFD)
        ("Straße", "STRASSE"),
    ],
)
def test_a_name_differing_only_in_non_ascii_case_is_refused(
    alice_client, codebook, codes, existing, posted
):
    # SQLite's lower() folds only ASCII: this once let "Ærlige svar" and "ærlige svar" both in.
    CodeFactory(codebook=codebook, name=existing)
    before = Code.objects.filter(codebook=codebook).count()
    response = alice_client.post(
        reverse("coding:codebook-add", args=[codebook.project.pk]),
        {"name": posted, "color": "#123456"},
    )
    assert response.status_code == 400
    assert f"The codebook already has a code called “{existing}”." in errors_of(response)
    assert Code.objects.filter(codebook=codebook).count() == before


def test_the_database_refuses_a_twin_name_that_skips_the_form(codebook, codes):
    CodeFactory(codebook=codebook, name="Ærlige svar")
    with pytest.raises(IntegrityError), transaction.atomic():
        Code(codebook=codebook, name="ærlige svar", color="#123456").save()
    assert Code.objects.get(codebook=codebook, name_key=name_key("ÆRLIGE SVAR")).name == (
        "Ærlige svar"
    )


def test_bulk_writes_set_the_name_key_too(codebook, codes):
    # bulk_create and bulk_update skip save(): the queryset sets the key, so twins still clash.
    (made,) = Code.objects.bulk_create([Code(codebook=codebook, name="Ærlige svar", slug="a")])
    assert Code.objects.get(pk=made.pk).name_key == "ærlige svar"
    with pytest.raises(IntegrityError), transaction.atomic():
        Code.objects.bulk_create([Code(codebook=codebook, name="ÆRLIGE SVAR", slug="b")])
    made.name = "Åpne svar"
    Code.objects.bulk_update([made], ["name"])
    assert Code.objects.get(pk=made.pk).name_key == "åpne svar"


def test_a_rename_keeps_the_name_key_and_the_old_name_becomes_free(alice_client, codes, bob):
    code = codes[1]
    response = alice_client.post(url("edit", code), {"name": "Ærlige svar", "color": code.color})
    assert response.status_code == 302
    code.refresh_from_db()
    assert code.name_key == "ærlige svar"
    services.code_create(codebook=code.codebook, actor=bob, name="kompetanse")
    with pytest.raises(ValidationError) as exc:
        services.code_create(codebook=code.codebook, actor=bob, name="ÆRLIGE svar")
    assert exc.value.error_dict["name"][0].code == "code_name_taken"


def test_the_migration_stops_on_existing_twins_and_names_them(codebook, codes):
    import importlib
    from types import SimpleNamespace

    from django.apps import apps

    migration = importlib.import_module("coding.migrations.0008_issue12_code_name_key")
    twin = CodeFactory(codebook=codebook, name="Ærlige svar")
    CodeFactory(codebook=codebook, name="Andre")
    # A twin from before the constraint: written past save(), with a stale key.
    Code.objects.filter(pk=twin.pk).update(name="ærlige svar", name_key="stale")
    CodeFactory(codebook=codebook, name="ÆRLIGE SVAR")
    editor = SimpleNamespace(connection=connection)
    with pytest.raises(RuntimeError, match="“ærlige svar” and “ÆRLIGE SVAR”"):
        migration.fill_name_key(apps, editor)
    Code.objects.filter(name="ÆRLIGE SVAR").delete()
    migration.fill_name_key(apps, editor)
    assert Code.objects.get(pk=twin.pk).name_key == "ærlige svar", "keys are filled in"


def test_a_shortcut_in_use_is_refused_naming_the_code_that_has_it(alice_client, codebook, codes):
    response = alice_client.post(
        reverse("coding:codebook-add", args=[codebook.project.pk]),
        {"name": "Ny kode", "color": "#123456", "shortcut": "2"},
    )
    assert response.status_code == 400
    assert "The shortcut “2” is already used by “Kompetanse”." in errors_of(response)
    assert not Code.objects.filter(name="Ny kode").exists()


@pytest.mark.parametrize("bad", ["ab", "!", " "])
def test_a_shortcut_is_one_letter_or_digit(codebook, codes, bob, bad):
    if bad == " ":
        code = services.code_create(codebook=codebook, actor=bob, name="Tom", shortcut=bad)
        assert code.shortcut == "", "blank means no shortcut"
        return
    with pytest.raises(ValidationError) as exc:
        services.code_create(codebook=codebook, actor=bob, name="Ny", shortcut=bad)
    assert "shortcut" in exc.value.error_dict


def test_renaming_recolouring_and_describing_a_code(alice_client, alice, codes):
    response = alice_client.post(
        url("edit", codes[1]),
        {
            "name": "Kompetanse og læring",
            "color": "#00FF88",
            "parent": "",
            "shortcut": "k",
            "short_name": "KL",
            "definition": "Kunnskap.",
            "inclusion": "Kurs.",
            "exclusion": "Lønn.",
            "example": "«Vi tok videreutdanning.»",
            "keywords": "kurs\nopplæring",
        },
    )
    assert response.status_code == 302
    code = Code.objects.get(pk=codes[1].pk)
    assert (code.name, code.color, code.shortcut, code.short_name) == (
        "Kompetanse og læring",
        "#00ff88",
        "k",
        "KL",
    )
    assert (code.definition, code.inclusion, code.exclusion, code.example) == (
        "Kunnskap.",
        "Kurs.",
        "Lønn.",
        "«Vi tok videreutdanning.»",
    )
    assert code.keywords == "kurs\nopplæring"
    event = AuditEvent.objects.get(action=AuditAction.CODE_UPDATE)
    assert event.details["old_name"] == "Kompetanse"
    assert set(event.details["fields"]) >= {"name", "color", "shortcut", "keywords"}


def test_the_edit_page_shows_the_code_in_a_filled_form(alice_client, codes):
    response = alice_client.get(url("edit", codes[1]))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'value="Kompetanse"' in page and 'value="2"' in page
    assert f'<option value="{codes[0].pk}"' in page
    assert f'<option value="{codes[1].pk}"' not in page, "a code cannot be its own parent"


def test_a_rename_to_a_taken_name_is_refused_and_changes_nothing(alice_client, codes):
    response = alice_client.post(
        url("edit", codes[1]), {"name": "Brukermedvirkning", "color": codes[1].color}
    )
    assert response.status_code == 400
    assert "already has a code called “Brukermedvirkning”" in errors_of(response)
    assert Code.objects.get(pk=codes[1].pk).name == "Kompetanse"
    assert not AuditEvent.objects.exists()


def test_an_invalid_colour_is_refused(codes, bob):
    with pytest.raises(ValidationError) as exc:
        services.code_update(code=codes[0], actor=bob, color="red")
    assert "color" in exc.value.error_dict


def test_saving_an_unchanged_code_records_nothing(codes, bob):
    services.code_update(code=codes[0], actor=bob, name=codes[0].name, color=codes[0].color)
    assert not AuditEvent.objects.exists()


# --- reorder and nest ------------------------------------------------------------------------


def test_move_up_and_down_reorder_siblings(alice_client, codebook, codes):
    a, b, c = (x.name for x in codes)
    assert alice_client.post(url("move", codes[2]), {"direction": "up"}).status_code == 302
    assert tree_names(codebook) == [(0, a), (0, c), (0, b)]
    alice_client.post(url("move", codes[0]), {"direction": "down"})
    assert tree_names(codebook) == [(0, c), (0, a), (0, b)]
    alice_client.post(url("move", codes[2]), {"direction": "up"})  # already first: no change
    assert tree_names(codebook) == [(0, c), (0, a), (0, b)]
    assert AuditEvent.objects.filter(action=AuditAction.CODE_UPDATE).count() == 2


def test_indent_nests_under_the_code_above_and_outdent_takes_it_out(alice_client, codebook, codes):
    a, b, c = (x.name for x in codes)
    alice_client.post(url("move", codes[1]), {"direction": "indent"})
    assert tree_names(codebook) == [(0, a), (1, b), (0, c)]
    alice_client.post(url("move", codes[2]), {"direction": "indent"})
    alice_client.post(url("move", codes[2]), {"direction": "indent"})
    assert tree_names(codebook) == [(0, a), (1, b), (2, c)]
    alice_client.post(url("move", codes[2]), {"direction": "outdent"})
    assert tree_names(codebook) == [(0, a), (1, b), (1, c)]
    alice_client.post(url("move", codes[1]), {"direction": "outdent"})
    assert tree_names(codebook) == [(0, a), (1, c), (0, b)], "just after its old parent"


def test_indenting_the_first_code_says_why_not(alice_client, codebook, codes):
    response = alice_client.post(url("move", codes[0]), {"direction": "indent"}, follow=True)
    assert "There is no code above “Forankring og eierskap”" in response.content.decode()
    assert Code.objects.get(pk=codes[0].pk).parent is None


def test_a_drag_moves_a_code_to_a_parent_and_position_and_answers_json(
    alice_client, codebook, codes
):
    a, b, c = (x.name for x in codes)
    response = alice_client.post(
        url("move", codes[2]),
        {"parent": codes[0].pk, "position": 0},
        headers={"X-Requested-With": "fetch"},
    )
    assert response.status_code == 200 and response.json() == {"ok": True}
    assert tree_names(codebook) == [(0, a), (1, c), (0, b)]
    alice_client.post(
        url("move", codes[1]),
        {"parent": "", "position": 0},
        headers={"X-Requested-With": "fetch"},
    )
    assert tree_names(codebook) == [(0, b), (0, a), (1, c)]


def test_nesting_a_code_inside_its_own_sub_code_is_refused(alice_client, codebook, codes, bob):
    services.code_move(code=codes[1], actor=bob, parent=codes[0])
    services.code_move(code=codes[2], actor=bob, parent=codes[1])
    response = alice_client.post(
        url("move", codes[0]), {"parent": codes[2].pk}, headers={"X-Requested-With": "fetch"}
    )
    assert response.status_code == 400
    assert "lies inside it" in response.json()["error"]
    with pytest.raises(ValidationError) as exc:
        services.code_move(code=codes[0], actor=bob, parent=codes[0])
    assert exc.value.code == "code_cycle"
    assert Code.objects.get(pk=codes[0].pk).parent is None


def test_nesting_through_the_edit_form_moves_the_code(alice_client, codebook, codes):
    response = alice_client.post(
        url("edit", codes[2]),
        {"name": codes[2].name, "color": codes[2].color, "parent": codes[0].pk},
    )
    assert response.status_code == 302
    assert Code.objects.get(pk=codes[2].pk).parent_id == codes[0].pk


def test_the_edit_form_does_not_offer_the_codes_own_sub_codes_as_parent(alice_client, codes, bob):
    services.code_move(code=codes[1], actor=bob, parent=codes[0])
    response = alice_client.post(
        url("edit", codes[0]), {"name": codes[0].name, "color": "#123456", "parent": codes[1].pk}
    )
    assert response.status_code == 400
    assert Code.objects.get(pk=codes[0].pk).parent is None
    assert Code.objects.get(pk=codes[0].pk).color == codes[0].color, "nothing half-saved"


# --- merge -----------------------------------------------------------------------------------


@pytest.fixture
def merge_case(transcript, codes, alice, bob):
    """Hand-made codings: merging A into B moves 2, collapses 1 (bob had both on e1)."""
    a, b, c = codes
    code_on(transcript, (0, 5), [a, b], bob)  # bob: A and B on e1 -> A collapses into B
    code_on(transcript, (0, 5), [a], alice)  # alice: A on e1 -> moves (alice had no B there)
    code_on(transcript, (5, 10), [a], bob)  # bob: A on e2 -> moves
    code_on(transcript, (10, 15), [b], alice)  # untouched B
    code_on(transcript, (10, 15), [c], bob)  # untouched C
    return a, b, c


def test_the_merge_page_says_what_will_happen_before_anything_changes(alice_client, merge_case):
    a, b, _c = merge_case
    response = alice_client.get(url("merge", a), {"target": b.pk})
    page = response.content.decode()
    assert response.status_code == 200
    assert "<strong>3</strong> codings move to “Kompetanse”." in page
    assert "<strong>1</strong> of them is a duplicate" in page
    assert Coding.objects.filter(tag=a).count() == 3, "a GET changes nothing"


def test_merge_moves_codings_and_collapses_duplicates(alice_client, alice, bob, merge_case):
    a, b, c = merge_case
    assert Coding.objects.count() == 6
    response = alice_client.post(url("merge", a), {"target": b.pk}, follow=True)
    assert "2 codings moved, 1 duplicate collapsed" in response.content.decode()
    assert not Code.objects.filter(pk=a.pk).exists()
    assert Coding.objects.count() == 5
    on_b = sorted(
        (cd.content_object.start, cd.coder.username) for cd in Coding.objects.filter(tag=b)
    )
    assert on_b == [(0, "alice"), (0, "bob"), (5, "bob"), (10, "alice")]
    assert Coding.objects.filter(tag=c).count() == 1
    assert Excerpt.objects.count() == 3, "no excerpt lost or orphaned"
    event = AuditEvent.objects.get(action=AuditAction.CODE_MERGE)
    assert event.actor == alice
    assert (event.details["moved"], event.details["collapsed"]) == (2, 1)
    assert (event.details["source"], event.details["target"]) == (a.name, b.name)


def test_merge_moves_memos_sub_codes_and_keywords_to_the_target(project, codebook, codes, bob):
    a, b, _c = codes
    a.keywords, b.keywords = "ledelse\nrådmann", "Rådmann\nkurs"
    a.save()
    b.save()
    sub = services.code_create(codebook=codebook, actor=bob, name="Under A", parent=a)
    b_sub = services.code_create(codebook=codebook, actor=bob, name="Under B", parent=b)
    memo = services.memo_save(project=project, author=bob, text="Om A", code=a)
    result = services.code_merge(source=a, target=b, actor=bob)
    assert (result.memos, result.children) == (1, 1)
    assert Memo.objects.get(pk=memo.pk).code_id == b.pk
    assert Code.objects.get(pk=sub.pk).parent_id == b.pk
    assert list(Code.objects.filter(parent=b).order_by("order")) == [b_sub, sub]
    assert Code.objects.get(pk=b.pk).keywords == "Rådmann\nkurs\nledelse"


def test_merge_moves_key_quotes_to_the_target_one_per_researcher_and_passage(
    alice_client, project, transcript, codes, alice, bob
):
    a, b, _c = codes
    e1 = code_on(transcript, (0, 5), [a, b], bob)
    e2 = code_on(transcript, (5, 10), [a], bob)
    code_on(transcript, (0, 5), [a, b], alice)
    # bob marked e1 for both codes (one key quote after the merge), e2 for A only (moves);
    # alice marked e1 for A only (moves: her mark is hers, not bob's).
    services.key_quote_set(excerpt=e1, code=a, user=bob, marked=True)
    services.key_quote_set(excerpt=e1, code=b, user=bob, marked=True)
    services.key_quote_set(excerpt=e2, code=a, user=bob, marked=True)
    services.key_quote_set(excerpt=e1, code=a, user=alice, marked=True)
    memo = services.memo_save(project=project, author=bob, text="Se også A og B")
    services.memo_link_set(memo=memo, actor=bob, code=a)
    services.memo_link_set(memo=memo, actor=bob, code=b)
    page = alice_client.get(url("merge", a), {"target": b.pk}).content.decode()
    assert "<strong>3</strong> key quotes of the code move along" in page
    response = alice_client.post(url("merge", a), {"target": b.pk})
    assert response.status_code == 302
    kept = sorted(
        (k.excerpt_id, k.user.username) for k in KeyQuote.objects.filter(code_id__in=[a.pk, b.pk])
    )
    assert kept == [(e1.pk, "alice"), (e1.pk, "bob"), (e2.pk, "bob")]
    assert set(KeyQuote.objects.values_list("code_id", flat=True)) == {b.pk}
    assert list(memo.links.values_list("code_id", flat=True)) == [b.pk]
    event = AuditEvent.objects.get(action=AuditAction.CODE_MERGE)
    assert event.details["key_quotes"] == 2


def test_merge_keeps_a_consensus_coding_apart_from_the_coder_layer(transcript, codes, bob):
    a, b, _c = codes
    e1 = code_on(transcript, (0, 5), [b], bob)
    Coding.objects.create(
        tag=a, content_object=e1, coder=bob, layer=CodingLayer.CONSENSUS
    )  # bob decided A on e1 in the consensus layer; his own B coding is the coder layer
    result = services.code_merge(source=a, target=b, actor=bob)
    assert (result.moved, result.collapsed) == (1, 0)
    assert sorted(Coding.objects.filter(tag=b).values_list("layer", flat=True)) == [
        CodingLayer.CODER,
        CodingLayer.CONSENSUS,
    ]


def test_merging_into_a_sub_code_lifts_it_and_keeps_the_tree_acyclic(codebook, codes, bob):
    a, b, c = codes
    services.code_move(code=b, actor=bob, parent=a)
    services.code_move(code=c, actor=bob, parent=a)
    services.code_merge(source=a, target=b, actor=bob)
    assert tree_names(codebook) == [(0, b.name), (1, c.name)]


def test_a_code_cannot_be_merged_into_itself(alice_client, codes, bob):
    with pytest.raises(ValidationError):
        services.code_merge(source=codes[0], target=codes[0], actor=bob)
    response = alice_client.get(url("merge", codes[0]), {"target": codes[0].pk})
    assert "A code cannot be merged into itself." in response.content.decode()
    response = alice_client.post(url("merge", codes[0]), {"target": codes[0].pk})
    assert response.status_code == 200
    assert Code.objects.filter(pk=codes[0].pk).exists()


def test_merging_codes_of_different_codebooks_is_refused(codes, foreign_code, bob):
    with pytest.raises(ValidationError) as exc:
        services.code_merge(source=codes[0], target=foreign_code, actor=bob)
    assert exc.value.code == "foreign_code"
    assert Code.objects.filter(pk=codes[0].pk).exists()


# --- delete ----------------------------------------------------------------------------------


@pytest.fixture
def delete_case(project, transcript, codebook, codes, alice, bob):
    """P (with sub-code Q): 3 codings, 1 sub-code, 1 memo on P; e1 is left empty."""
    parent, _b, other = codes
    sub = services.code_create(codebook=codebook, actor=bob, name="Q", parent=parent)
    code_on(transcript, (0, 5), [parent], bob)  # e1: only P -> the excerpt goes
    code_on(transcript, (5, 10), [sub], bob)  # e2: Q, and C by alice -> stays
    code_on(transcript, (5, 10), [other], alice)
    e3 = code_on(transcript, (10, 15), [sub], bob)  # e3: Q and a memo -> stays
    services.memo_save(project=project, author=bob, text="Viktig", excerpt=e3)
    services.memo_save(project=project, author=bob, text="Om P", code=parent)
    return parent, sub, other


def test_delete_asks_first_and_says_how_many_codings_and_sub_codes_go(alice_client, delete_case):
    parent, sub, _other = delete_case
    response = alice_client.get(url("delete", parent))
    page = response.content.decode()
    assert response.status_code == 200
    assert "<strong>3</strong> codings" in page
    assert "<strong>1</strong> sub-code," in page and sub.name in page
    assert "<strong>1</strong> memo on the code" in page
    assert Code.objects.filter(pk=parent.pk).exists(), "a GET deletes nothing"


def test_delete_of_an_uncoded_code_says_nothing_else_goes(alice_client, codes):
    response = alice_client.get(url("delete", codes[1]))
    assert "No passage is coded with it" in response.content.decode()


def test_delete_removes_the_code_its_sub_codes_codings_and_emptied_excerpts(
    alice_client, alice, delete_case
):
    parent, sub, other = delete_case
    response = alice_client.post(url("delete", parent), follow=True)
    assert "with 3 codings, 1 sub-codes and 1 memos" in response.content.decode()
    assert not Code.objects.filter(pk__in=[parent.pk, sub.pk]).exists()
    assert list(Coding.objects.values_list("tag_id", flat=True)) == [other.pk]
    assert sorted(Excerpt.objects.values_list("start", flat=True)) == [5, 10]
    assert not Memo.objects.filter(code__isnull=False).exists()
    assert Memo.objects.filter(text="Viktig").exists(), "excerpt memos stay"
    event = AuditEvent.objects.get(action=AuditAction.CODE_DELETE)
    assert event.actor == alice
    assert (event.details["codings"], event.details["subcodes"], event.details["excerpts"]) == (
        3,
        1,
        1,
    )


# --- merging while others code (PostgreSQL: row locks and constraint checks) -----------------


def _in_thread(fn, errors: list):
    def run():
        try:
            fn()
        except Exception as exc:  # reported to the test through ``errors``
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _coding_in_flight(transcript, span, code, coder, inserted, release):
    """Insert a coding and hold the transaction open until ``release`` is set."""

    def fn():
        with transaction.atomic():
            code_on(transcript, span, [code], coder)
            inserted.set()
            release.wait(10)

    return fn


@pytest.fixture
def needs_postgresql(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("row locks and deferred constraints are tested on PostgreSQL (bin/test)")


def test_a_merge_collapses_a_target_coding_committed_while_it_runs(
    needs_postgresql, transcript, codes, alice
):
    a, b, _c = codes
    code_on(transcript, (0, 5), [a], alice)
    inserted, release, errors = threading.Event(), threading.Event(), []
    coder = _in_thread(_coding_in_flight(transcript, (0, 5), b, alice, inserted, release), errors)
    assert inserted.wait(10)
    results = []
    merger = _in_thread(
        lambda: results.append(services.code_merge(source=a, target=b, actor=alice)), errors
    )
    time.sleep(0.5)
    assert merger.is_alive(), "the merge waits for the coding in flight"
    release.set()
    coder.join(10)
    merger.join(10)
    assert errors == []
    assert (results[0].moved, results[0].collapsed) == (0, 1)
    assert list(Coding.objects.values_list("tag_id", "coder__username")) == [(b.pk, "alice")]
    assert not Code.objects.filter(pk=a.pk).exists()


def test_a_merge_waits_for_a_coding_of_the_source_in_flight_and_moves_it_too(
    needs_postgresql, transcript, codes, alice, bob
):
    a, b, _c = codes
    code_on(transcript, (0, 5), [a], alice)
    inserted, release, errors = threading.Event(), threading.Event(), []
    coder = _in_thread(_coding_in_flight(transcript, (5, 10), a, bob, inserted, release), errors)
    assert inserted.wait(10)
    results = []
    merger = _in_thread(
        lambda: results.append(services.code_merge(source=a, target=b, actor=alice)), errors
    )
    time.sleep(0.5)
    assert merger.is_alive(), "the merge waits for the coding in flight"
    release.set()
    coder.join(10)
    merger.join(10)
    assert errors == []
    assert results[0].moved == 2
    assert sorted(Coding.objects.values_list("tag_id", "coder__username")) == [
        (b.pk, "alice"),
        (b.pk, "bob"),
    ]
    assert not Code.objects.filter(pk=a.pk).exists()


def test_coding_with_a_merged_away_code_is_refused_not_orphaned(transcript, codes, bob):
    a, b, _c = codes
    services.code_merge(source=a, target=b, actor=bob)
    with pytest.raises(ValidationError) as exc:
        code_on(transcript, (0, 5), [a], bob)  # a stale Code object, as a slow page would post
    assert exc.value.code == "code_gone"
    assert not Coding.objects.exists() and not Excerpt.objects.exists()


# --- field limits: the model field is the one source -------------------------------------------


def test_code_field_limits_come_from_the_model_fields(alice_client, project, codes):
    from coding.forms import CodeForm
    from coding.models import MemoType

    form = CodeForm(tree=[])
    for name in ("name", "short_name", "color"):
        assert form.fields[name].max_length == Code._meta.get_field(name).max_length, name
    assert form.fields["shortcut"].widget.attrs["maxlength"] == (
        Code._meta.get_field("shortcut").max_length
    )
    assert services.CODE_NAME_MAX == Code._meta.get_field("name").max_length
    # The page gets the limit from the form (no copy in a template or a script).
    page = alice_client.get(editor(project)).content.decode()
    assert f'maxlength="{Code._meta.get_field("name").max_length}"' in page
    # A name one past the limit is refused by the service, whatever the form allowed.
    with pytest.raises(ValidationError):
        services.code_create(
            codebook=codes[0].codebook, actor=None, name="x" * (services.CODE_NAME_MAX + 1)
        )
    # A memo type's name is cut at its field's length, not at a number of its own.
    longest = MemoType._meta.get_field("name").max_length
    (made,) = services.memo_types_set(project=project, names=["m" * (longest + 10)])
    assert made.name == "m" * longest


def test_codes_create_makes_a_tree_in_one_call_as_code_create_would_one_by_one(
    codebook, codes, bob
):
    """The REFI-QDA import's batch: parents by index or as codes, each code at the end of its
    parent's children, the next unused colour in turn, one CODE_CREATE event per code."""
    top_order = max(c.order for c in Code.objects.filter(codebook=codebook, parent=None))
    colours = Counter(c.color for c in Code.objects.filter(codebook=codebook))
    made = services.codes_create(
        codebook=codebook,
        actor=bob,
        codes=[
            services.NewCode(name="Ny toppkode"),
            services.NewCode(name="Under ny", parent=0, color="#ABCDEF"),
            services.NewCode(name="Under gammel", parent=codes[0]),
            services.NewCode(name="Enda en under ny", parent=0),
        ],
    )
    assert [c.name for c in made] == ["Ny toppkode", "Under ny", "Under gammel", "Enda en under ny"]
    assert made[0].parent is None and made[0].order == top_order + 1
    assert [c.parent for c in made[1:]] == [made[0], codes[0], made[0]]
    assert (made[1].order, made[3].order) == (0, 1)
    assert made[1].color == "#abcdef"  # cleaned as the form cleans it
    for code, given in zip(made, [None, "#abcdef", None, None], strict=True):
        assert code.color == (given or services.next_code_color(None, colours))
        colours[code.color] += 1
    events = AuditEvent.objects.filter(action=AuditAction.CODE_CREATE).order_by("pk")
    assert [(e.details["name"], e.details["parent"]) for e in events] == [
        ("Ny toppkode", None),
        ("Under ny", "Ny toppkode"),
        ("Under gammel", codes[0].name),
        ("Enda en under ny", "Ny toppkode"),
    ]
    assert {e.actor for e in events} == {bob}


def test_codes_create_refuses_a_name_the_batch_already_took_and_saves_none(codebook, bob):
    before = Code.objects.filter(codebook=codebook).count()
    with pytest.raises(ValidationError) as err:
        services.codes_create(
            codebook=codebook,
            actor=bob,
            codes=[services.NewCode(name="Samme"), services.NewCode(name="SAMME")],
        )
    assert err.value.error_dict["name"][0].code == "code_name_taken"
    assert Code.objects.filter(codebook=codebook).count() == before
