"""Cases, informants, attributes and framework summaries are audited like codings: each change
goes through a service that records who changed what, and the history page reads it."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from coding import services
from coding.models import AttributeDefinition, AuditAction, AuditEvent, Case, Informant

from .factories import CodebookFactory, CodeFactory


def _events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_adding_and_changing_a_case_is_recorded_with_its_attributes(alice_client, alice, project):
    region = AttributeDefinition.objects.create(
        project=project, target="case", name="Region", kind="text"
    )
    url = reverse("coding:case-create", args=[project.pk])
    fields = {"name": "Ålesund", "kind": "case_study", "description": "", "order": 0, "tags": ""}
    r = alice_client.post(url, {**fields, f"attr_{region.pk}": "Vest"})
    assert r.status_code == 302
    case = Case.objects.get(name="Ålesund")
    r = alice_client.post(
        reverse("coding:case-edit", args=[project.pk, case.pk]),
        {**fields, "description": "Kystby", f"attr_{region.pk}": "Vest"},
    )
    assert r.status_code == 302
    added, changed = _events(AuditAction.CASE_SAVE)
    assert (added.actor, added.project_id, added.transcript_id) == (alice, project.pk, None)
    assert added.details["case"] == case.pk and added.details["name"] == "Ålesund"
    assert added.details["created"] is True and added.details["attributes"] == ["Region"]
    assert changed.details["created"] is False
    assert changed.details["fields"] == ["description"]
    assert changed.details["attributes"] == []  # the same value is not a change


def test_adding_and_changing_an_informant_is_recorded(bob_client, bob, case):
    url = reverse("coding:informant-create", args=[case.pk])
    r = bob_client.post(url, {"pseudonym": "Tone", "role_title": "Leder", "level": "operative"})
    assert r.status_code == 302
    informant = Informant.objects.get(case=case)
    r = bob_client.post(
        reverse("coding:informant-edit", args=[case.pk, informant.pk]),
        {"pseudonym": "Tone", "role_title": "Rådgiver", "level": "operative"},
    )
    assert r.status_code == 302
    added, changed = _events(AuditAction.INFORMANT_SAVE)
    assert added.actor == bob and added.project_id == case.project_id
    assert added.details["informant"] == informant.pk and added.details["case"] == case.pk
    assert (added.details["created"], changed.details["created"]) == (True, False)
    assert changed.details["fields"] == ["role_title"] and changed.details["name"] == "Tone"


def test_defining_and_deleting_an_attribute_is_recorded_with_the_values_lost(
    alice_client, alice, project, case
):
    url = reverse("coding:attribute-list", args=[project.pk])
    r = alice_client.post(url, {"target": "case", "name": "Region", "kind": "text", "order": 0})
    assert r.status_code == 302
    d = AttributeDefinition.objects.get(name="Region")
    d.values.create(case=case, value_text="Vest")
    r = alice_client.post(url, {"target": "case", "name": "Region", "kind": "text", "order": 0})
    assert r.status_code == 200 and "name" in r.context["form"].errors
    assert len(_events(AuditAction.ATTRIBUTE_CREATE)) == 1, "a refused name records nothing"
    assert (
        alice_client.post(reverse("coding:attribute-delete", args=[project.pk, d.pk])).status_code
        == 302
    )
    (created,) = _events(AuditAction.ATTRIBUTE_CREATE)
    (deleted,) = _events(AuditAction.ATTRIBUTE_DELETE)
    assert created.actor == alice and created.details == {
        "attribute": d.pk,
        "name": "Region",
        "target": "case",
        "kind": "text",
    }
    assert deleted.details["values"] == 1 and deleted.details["name"] == "Region"
    assert not AttributeDefinition.objects.exists()


def test_the_attribute_service_refuses_a_name_the_target_has(alice, project):
    services.attribute_create(
        project=project, actor=alice, target="case", name="Region", kind="text"
    )
    with pytest.raises(ValidationError) as exc:
        services.attribute_create(
            project=project, actor=alice, target="case", name="Region", kind="integer"
        )
    assert "name" in exc.value.message_dict
    # The same name for informants is another attribute.
    services.attribute_create(
        project=project, actor=alice, target="informant", name="Region", kind="text"
    )
    assert AttributeDefinition.objects.filter(name="Region").count() == 2


def test_saving_a_framework_summary_is_recorded_once_per_version(alice, project, case):
    code = CodeFactory(codebook=CodebookFactory(project=project), name="Kompetanse")
    first = services.framework_summary_save(
        project=project, case=case, code=code, author=alice, text="Lite kompetanse.", base_version=0
    )
    services.framework_summary_save(  # unchanged text: no new version, no event
        project=project, case=case, code=code, author=alice, text="Lite kompetanse.", base_version=1
    )
    services.framework_summary_save(
        project=project, case=None, code=code, author=alice, text="På tvers.", base_version=0
    )
    cell, column = _events(AuditAction.FRAMEWORK_SAVE)
    assert cell.details["summary"] == first.pk and cell.details["version"] == 1
    assert (cell.details["case_name"], cell.details["code_name"]) == ("Drammen", "Kompetanse")
    assert column.details["case"] is None and column.details["code"] == code.pk


def test_the_history_page_names_the_new_changes(alice_client, alice, project, case):
    services.attribute_create(
        project=project, actor=alice, target="case", name="Region", kind="text"
    )
    code = CodeFactory(codebook=CodebookFactory(project=project), name="Kompetanse")
    services.framework_summary_save(
        project=project, case=case, code=code, author=alice, text="Tekst.", base_version=0
    )
    r = alice_client.get(reverse("coding:project-history", args=[project.pk]))
    html = r.content.decode()
    assert "added the attribute Region" in html
    assert "saved the framework summary Drammen × Kompetanse (version 1)" in html
    r = alice_client.get(
        reverse("coding:project-history", args=[project.pk]),
        {"action": AuditAction.ATTRIBUTE_CREATE},
    )
    assert "added the attribute Region" in r.content.decode()
    assert "framework summary Drammen" not in r.content.decode()
