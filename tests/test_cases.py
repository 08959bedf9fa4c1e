import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from coding.models import AttributeDefinition, AttributeValue, Case, Informant

from .factories import CaseFactory, InformantFactory


@pytest.fixture
def definitions(project):
    kinds = [
        ("Innbyggere", "integer"),
        ("Husbanken-region", "text"),
        ("Programkommune", "boolean"),
        ("Andel", "decimal"),
        ("Startdato", "date"),
    ]
    return {
        name: AttributeDefinition.objects.create(
            project=project, target="case", name=name, kind=kind
        )
        for name, kind in kinds
    }


def test_an_owner_creates_a_case_with_typed_attributes_and_tags(alice_client, project, definitions):
    d = definitions
    r = alice_client.post(
        reverse("coding:case-create", args=[project.pk]),
        {
            "name": "Sandnes",
            "kind": "case_study",
            "description": "",
            "order": 2,
            "tags": "vest, programkommune",
            f"attr_{d['Innbyggere'].pk}": "79537",
            f"attr_{d['Husbanken-region'].pk}": "Vest",
            f"attr_{d['Programkommune'].pk}": "true",
            f"attr_{d['Andel'].pk}": "22.9",
            f"attr_{d['Startdato'].pk}": "2014-01-01",
        },
    )
    case = Case.objects.get(name="Sandnes")
    assert r.status_code == 302 and r.url == case.get_absolute_url()
    values = {v.definition.name: v.value for v in case.attribute_values.all()}
    assert values == {
        "Innbyggere": 79537,
        "Husbanken-region": "Vest",
        "Programkommune": True,
        "Andel": Decimal("22.9"),
        "Startdato": dt.date(2014, 1, 1),
    }
    assert set(case.tags.names()) == {"vest", "programkommune"}


def test_a_bad_attribute_value_gives_a_field_error_and_saves_nothing(
    alice_client, project, definitions
):
    r = alice_client.post(
        reverse("coding:case-create", args=[project.pk]),
        {
            "name": "X",
            "kind": "case_study",
            "order": 0,
            f"attr_{definitions['Innbyggere'].pk}": "mange",
        },
    )
    assert r.status_code == 200
    assert f"attr_{definitions['Innbyggere'].pk}" in r.context["form"].errors
    assert not Case.objects.filter(name="X").exists()


def test_clearing_a_value_removes_it(alice_client, project, case, definitions):
    d = definitions["Innbyggere"]
    AttributeValue.objects.create(definition=d, case=case, value_integer=5)
    alice_client.post(
        reverse("coding:case-edit", args=[project.pk, case.pk]),
        {"name": case.name, "kind": case.kind, "order": 0, f"attr_{d.pk}": ""},
    )
    assert not AttributeValue.objects.filter(case=case).exists()


def _submit_as_shown(client, url: str) -> dict:
    """GET the form and post back exactly what a browser would send without any edit."""
    import lxml.html

    page = client.get(url)
    assert page.status_code == 200
    form = lxml.html.fromstring(page.content.decode()).xpath("//form[@method='post']")[-1]
    r = client.post(url, dict(form.form_values()))
    assert r.status_code == 302, r.content.decode()[:2000]
    return r


@pytest.mark.parametrize(
    ("kind", "column", "value"),
    [
        ("text", "value_text", "Vest – «Agder» æøå"),
        ("integer", "value_integer", 100581),
        ("decimal", "value_decimal", Decimal("20")),
        ("decimal", "value_decimal", Decimal("1.25")),
        ("decimal", "value_decimal", Decimal("100")),
        ("boolean", "value_boolean", True),
        ("boolean", "value_boolean", False),
        ("date", "value_date", dt.date(2016, 3, 1)),
    ],
)
@pytest.mark.parametrize("language", ["nb", "en"])
def test_saving_a_form_untouched_keeps_every_attribute_value(
    alice_client, project, case, kind, column, value, language
):
    """Seen on Karmøy: pressing Save on an untouched case form deleted its yes/no values."""
    alice_client.cookies["django_language"] = language
    d = AttributeDefinition.objects.create(project=project, target="case", name="A", kind=kind)
    AttributeValue.objects.create(definition=d, case=case, **{column: value})
    informant = InformantFactory(case=case)
    di = AttributeDefinition.objects.create(
        project=project, target="informant", name="B", kind=kind
    )
    AttributeValue.objects.create(definition=di, informant=informant, **{column: value})

    _submit_as_shown(alice_client, reverse("coding:case-edit", args=[project.pk, case.pk]))
    _submit_as_shown(alice_client, reverse("coding:informant-edit", args=[case.pk, informant.pk]))

    assert AttributeValue.objects.get(definition=d, case=case).value == value
    assert AttributeValue.objects.get(definition=di, informant=informant).value == value


def test_the_case_form_shows_decimals_without_trailing_zeros(alice_client, project, case):
    d = AttributeDefinition.objects.create(
        project=project, target="case", name="Andel", kind="decimal"
    )
    AttributeValue.objects.create(definition=d, case=case, value_decimal=Decimal("20.000000"))
    html = alice_client.get(reverse("coding:case-edit", args=[project.pk, case.pk])).content
    assert b'value="20"' in html and b"20.000000" not in html
    assert b"Order" not in html


def test_duplicate_case_names_are_refused(alice_client, project, case):
    r = alice_client.post(
        reverse("coding:case-create", args=[project.pk]),
        {"name": case.name, "kind": "case_study", "order": 0},
    )
    assert r.status_code == 200 and "name" in r.context["form"].errors
    assert Case.objects.filter(name=case.name).count() == 1


def test_only_owners_manage_cases(bob_client, sue_client, charlie_client, project, case):
    url = reverse("coding:case-edit", args=[project.pk, case.pk])
    assert bob_client.get(url).status_code == 403
    assert sue_client.get(url).status_code == 403
    assert charlie_client.get(url).status_code == 404


def test_a_case_of_another_project_is_404(alice_client, project):
    other = CaseFactory()
    url = reverse("coding:case-edit", args=[project.pk, other.pk])
    assert alice_client.get(url).status_code == 404


def test_researchers_add_and_edit_informants(bob_client, sue_client, case):
    r = bob_client.post(
        reverse("coding:informant-create", args=[case.pk]),
        {"pseudonym": "Tone Berg", "role_title": "Leder", "level": "operative", "org_unit": ""},
    )
    assert r.status_code == 302
    informant = Informant.objects.get(case=case)
    r = bob_client.post(
        reverse("coding:informant-edit", args=[case.pk, informant.pk]),
        {"pseudonym": "Tone Berg", "role_title": "Leder for boligtjenesten", "level": "operative"},
    )
    informant.refresh_from_db()
    assert informant.role_title == "Leder for boligtjenesten"
    assert sue_client.get(reverse("coding:informant-create", args=[case.pk])).status_code == 403


def test_an_informant_of_another_case_cannot_be_edited_through_this_one(bob_client, case):
    other = InformantFactory()
    url = reverse("coding:informant-edit", args=[case.pk, other.pk])
    assert bob_client.get(url).status_code == 404


def test_owners_define_and_delete_attributes(alice_client, bob_client, project):
    url = reverse("coding:attribute-list", args=[project.pk])
    r = alice_client.post(url, {"target": "case", "name": "Region", "kind": "text", "order": 0})
    assert r.status_code == 302
    d = AttributeDefinition.objects.get(name="Region")
    r = alice_client.post(url, {"target": "case", "name": "Region", "kind": "text", "order": 0})
    assert r.status_code == 200 and "name" in r.context["form"].errors
    assert bob_client.get(url).status_code == 200  # members read the list
    assert bob_client.post(url, {"target": "case", "name": "Y", "kind": "text"}).status_code == 403
    delete = reverse("coding:attribute-delete", args=[project.pk, d.pk])
    assert bob_client.post(delete).status_code == 403
    assert alice_client.post(delete).status_code == 302
    assert not AttributeDefinition.objects.exists()


def test_the_case_page_shows_numbers_and_dates_the_norwegian_way(
    bob_client, project, case, settings
):
    settings.LANGUAGE_CODE = "nb"
    for name, kind, column, value in (
        ("Innbyggere", "integer", "value_integer", 100581),
        ("Andel", "decimal", "value_decimal", Decimal("27.800000")),
        ("Start", "date", "value_date", dt.date(2016, 3, 1)),
    ):
        d = AttributeDefinition.objects.create(project=project, target="case", name=name, kind=kind)
        AttributeValue.objects.create(definition=d, case=case, **{column: value})
    html = bob_client.get(reverse("coding:case-detail", args=[case.pk])).content.decode()
    assert "<dd>100\xa0581</dd>" in html and "<dd>27,8</dd>" in html
    assert "<dd>01.03.2016</dd>" in html
