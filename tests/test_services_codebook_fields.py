"""coding/services/codebook.py: the code fields' rules (normalised and checked in one place,
``_code_clean``, for every write) and their limits, which the model, the form and the in-vivo
name must not contradict."""

import pytest
from django.core.exceptions import ValidationError

from coding import services
from coding.forms import CodeForm
from coding.models import AuditEvent, Code

from .factories import CodebookFactory, CodeFactory


def _refused(exc_info) -> dict[str, list[str]]:
    return {f: [e.code for e in errs] for f, errs in exc_info.value.error_dict.items()}


def test_the_limits_are_the_same_in_the_model_the_form_and_the_services():
    model_max = Code._meta.get_field("name").max_length
    assert services.CODE_NAME_MAX == model_max == CodeForm.base_fields["name"].max_length
    assert (
        Code._meta.get_field("short_name").max_length
        == CodeForm.base_fields["short_name"].max_length
        == 30
    )
    # An in-vivo code is named after the words it was made from: the name must fit a code.
    assert services.IN_VIVO_MAX_CHARS <= services.CODE_NAME_MAX


def test_names_are_trimmed_and_inner_spaces_collapsed_before_the_limit(codebook, alice):
    # 100 characters once collapsed, 106 as typed: it fits.
    typed = "  " + "a" * 50 + "    " + "b" * 49 + "  "
    code = services.code_create(codebook=codebook, actor=alice, name=typed)
    assert code.name == "a" * 50 + " " + "b" * 49 and len(code.name) == services.CODE_NAME_MAX
    with pytest.raises(ValidationError) as exc:
        services.code_create(codebook=codebook, actor=alice, name="c" * 101)
    assert _refused(exc) == {"name": ["code_name_long"]}


@pytest.mark.parametrize("name", ["", "   ", "\n\t"])
def test_a_code_needs_a_name(codebook, alice, name):
    with pytest.raises(ValidationError) as exc:
        services.code_create(codebook=codebook, actor=alice, name=name)
    assert _refused(exc) == {"name": ["code_name_empty"]}
    assert not Code.objects.exists() and not AuditEvent.objects.exists()


def test_every_bad_field_is_named_at_once(codebook, alice):
    with pytest.raises(ValidationError) as exc:
        services.code_create(
            codebook=codebook,
            actor=alice,
            name="Tillit",
            color="red",
            shortcut="ab",
            short_name="x" * 31,
        )
    assert _refused(exc) == {
        "color": ["code_color_invalid"],
        "shortcut": ["code_shortcut_invalid"],
        "short_name": ["code_short_name_long"],
    }


def test_colours_and_shortcuts_are_stored_lower_case_so_a_clash_is_found(codebook, alice):
    code = services.code_create(
        codebook=codebook, actor=alice, name="Tillit", color="#ABCDEF", shortcut="K"
    )
    assert (code.color, code.shortcut) == ("#abcdef", "k")
    with pytest.raises(ValidationError) as exc:
        services.code_create(codebook=codebook, actor=alice, name="Annet", shortcut="k")
    assert _refused(exc) == {"shortcut": ["code_shortcut_taken"]}
    # A code keeps its own shortcut when edited.
    services.code_update(code=code, actor=alice, shortcut="K")


def test_keywords_are_one_per_line_without_blanks_or_repeats(codebook, alice):
    code = services.code_create(
        codebook=codebook,
        actor=alice,
        name="Bolig",
        keywords="  leilighet \n\nLeilighet\nbolig  først\nbolig først\n",
    )
    assert code.keywords == "leilighet\nbolig først"


def test_a_new_code_takes_the_first_palette_colour_its_codebook_does_not_use(codebook, alice):
    first = services.code_create(codebook=codebook, actor=alice, name="En")
    second = services.code_create(codebook=codebook, actor=alice, name="To")
    assert [first.color, second.color] == list(services.CODE_PALETTE[:2])
    # Another codebook's colours do not count.
    other = services.code_create(codebook=CodebookFactory(), actor=alice, name="En")
    assert other.color == services.CODE_PALETTE[0]
    # Once all are used, the least used comes again, in palette order.
    for i in range(len(services.CODE_PALETTE)):
        CodeFactory(codebook=codebook, color=services.CODE_PALETTE[i])
    assert services.next_code_color(codebook.pk) == services.CODE_PALETTE[2]


def test_a_parent_from_another_codebook_is_refused_on_create_and_on_move(codebook, alice):
    foreign = CodeFactory(codebook=CodebookFactory())
    with pytest.raises(ValidationError) as exc:
        services.code_create(codebook=codebook, actor=alice, name="Barn", parent=foreign)
    assert exc.value.code == "foreign_code"
    code = services.code_create(codebook=codebook, actor=alice, name="Barn")
    with pytest.raises(ValidationError) as exc:
        services.code_move(code=code, actor=alice, parent=foreign, position=0)
    assert exc.value.code == "foreign_code"
    code.refresh_from_db()
    assert code.parent is None and Code.objects.filter(parent=foreign).count() == 0
