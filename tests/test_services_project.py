"""coding/services/project.py: the framework matrix's summaries (one conflict rule for cells,
case summaries and code syntheses; every saved text kept) and typed attribute values on cases."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from coding import services
from coding.models import (
    AttributeDefinition,
    AttributeValue,
    AuditAction,
    AuditEvent,
    FrameworkSummary,
    FrameworkSummaryRevision,
)

from .factories import CaseFactory, CodebookFactory, CodeFactory, ProjectFactory


@pytest.fixture
def code(project):
    return CodeFactory(codebook=CodebookFactory(project=project), name="Kompetanse")


def _save(project, case, code, author, text, base):
    return services.framework_summary_save(
        project=project, case=case, code=code, author=author, text=text, base_version=base
    )


@pytest.mark.parametrize("target", ["cell", "case", "code"])
def test_every_saved_text_is_kept_as_a_numbered_revision(target, project, case, code, alice, bob):
    c, k = {"cell": (case, code), "case": (case, None), "code": (None, code)}[target]
    _save(project, c, k, alice, "  Første utkast.  ", 0)
    summary = _save(project, c, k, bob, "Andre utkast.", 1)
    assert (summary.version, summary.text, summary.author) == (2, "Andre utkast.", bob)
    revisions = FrameworkSummaryRevision.objects.filter(summary=summary).order_by("version")
    assert [(r.version, r.text, r.author) for r in revisions] == [
        (1, "Første utkast.", alice),  # stripped
        (2, "Andre utkast.", bob),
    ]


@pytest.mark.parametrize("target", ["cell", "case", "code"])
def test_a_save_from_an_older_version_is_refused_as_stale(target, project, case, code, alice, bob):
    c, k = {"cell": (case, code), "case": (case, None), "code": (None, code)}[target]
    _save(project, c, k, alice, "Alice skrev først.", 0)
    _save(project, c, k, alice, "Alice skrev igjen.", 1)
    with pytest.raises(ValidationError) as exc:
        _save(project, c, k, bob, "Bob startet fra versjon 1.", 1)
    assert exc.value.code == "stale"
    # A first save into a cell someone else filled meanwhile is stale too.
    with pytest.raises(ValidationError) as exc:
        _save(project, c, k, bob, "Bob trodde cellen var tom.", 0)
    assert exc.value.code == "stale"
    summary = FrameworkSummary.objects.get(case=c, code=k)
    assert (summary.version, summary.text) == (2, "Alice skrev igjen.")
    assert summary.revisions.count() == 2
    assert AuditEvent.objects.filter(action=AuditAction.FRAMEWORK_SAVE).count() == 2


def test_a_base_version_for_an_empty_cell_is_stale(project, case, code, alice):
    """The cell was emptied (its case deleted and made again, say) since the author loaded it."""
    with pytest.raises(ValidationError) as exc:
        _save(project, case, code, alice, "Tekst.", 3)
    assert exc.value.code == "stale"
    assert not FrameworkSummary.objects.exists()


def test_a_summary_needs_a_case_or_a_code(project, alice):
    with pytest.raises(ValueError):
        _save(project, None, None, alice, "Tekst.", 0)


def test_a_summary_refuses_a_case_or_a_code_of_another_project(project, case, code, alice):
    elsewhere = ProjectFactory()
    foreign_case = CaseFactory(project=elsewhere)
    foreign_code = CodeFactory(codebook=CodebookFactory(project=elsewhere))
    for c, k in [(foreign_case, code), (case, foreign_code), (None, foreign_code)]:
        with pytest.raises(ValidationError) as exc:
            _save(project, c, k, alice, "Tekst.", 0)
        assert exc.value.code == "framework_foreign"
    assert not FrameworkSummary.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_summary_longer_than_a_memo_is_refused(settings, project, case, code, alice):
    settings.MEMO_MAX_CHARS = 20
    _save(project, case, code, alice, "x" * 20 + "   ", 0)  # the limit, once stripped
    with pytest.raises(ValidationError) as exc:
        _save(project, case, code, alice, "x" * 21, 1)
    assert exc.value.code == "framework_too_long"
    assert FrameworkSummary.objects.get().text == "x" * 20


# --- typed attribute values, through the case form ------------------------------------------


def _case_post(client, project, case, region, value):
    fields = {"name": case.name, "kind": "case_study", "description": "", "order": 0, "tags": ""}
    return client.post(
        reverse("coding:case-edit", args=[project.pk, case.pk]),
        {**fields, f"attr_{region.pk}": value},
    )


def test_emptying_an_attribute_removes_its_value_and_records_the_change(
    alice_client, project, case
):
    region = AttributeDefinition.objects.create(
        project=project, target="case", name="Region", kind="text"
    )
    AttributeValue.objects.create(definition=region, case=case, value_text="Vest")
    assert _case_post(alice_client, project, case, region, "").status_code == 302
    assert not AttributeValue.objects.filter(definition=region, case=case).exists()
    assert _case_post(alice_client, project, case, region, "").status_code == 302
    first, second = AuditEvent.objects.filter(action=AuditAction.CASE_SAVE).order_by("id")
    assert first.details["attributes"] == ["Region"]
    assert second.details["attributes"] == [], "no value before, none after: no change"


def test_changing_a_typed_value_replaces_it(alice_client, project, case):
    population = AttributeDefinition.objects.create(
        project=project, target="case", name="Innbyggere", kind="integer"
    )
    assert _case_post(alice_client, project, case, population, "5578").status_code == 302
    assert _case_post(alice_client, project, case, population, "5788").status_code == 302
    (value,) = AttributeValue.objects.filter(definition=population, case=case)
    assert value.value_integer == 5788


def test_charlie_cannot_edit_the_case(charlie_client, project, case):
    region = AttributeDefinition.objects.create(
        project=project, target="case", name="Region", kind="text"
    )
    assert _case_post(charlie_client, project, case, region, "Nord").status_code == 404
    assert not AttributeValue.objects.exists()
    assert not AuditEvent.objects.exists()
