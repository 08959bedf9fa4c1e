"""Case management in a real Chromium: an owner clicks from the project home to a new case,
edits it, adds an informant and reaches the attribute definitions; a researcher sees only
what they may use."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from coding.models import AttributeDefinition, AttributeValue, Case, Informant

from .conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, username: str) -> None:
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form:has(input[name=username]) button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_an_owner_clicks_through_case_management(page, live_server, project, case, alice, bob):
    program = AttributeDefinition.objects.create(
        project=project, target="case", name="Kommuneprogram", kind="boolean"
    )
    AttributeValue.objects.create(definition=program, case=case, value_boolean=True)
    log_in(page, live_server, "alice")
    page.goto(live_server.url + project.get_absolute_url())

    page.get_by_role("link", name="Case and informant attributes").click()
    page.wait_for_url(re.compile(r"/attributes/$"))
    page.go_back()

    page.get_by_role("link", name="New case").click()
    page.fill("input[name=name]", "Karmøy")
    page.select_option("select[name=kind]", "in_depth")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/cases/\d+/$"))
    assert Case.objects.filter(project=project, name="Karmøy").exists()

    page.goto(live_server.url + project.get_absolute_url())
    page.get_by_role("link", name="Drammen").first.click()
    page.get_by_role("link", name="Edit case").click()
    page.wait_for_url(re.compile(r"/edit/$"))
    assert page.locator(f"select[name=attr_{program.pk}]").input_value() == "true"
    page.get_by_role("button", name="Save").click()  # untouched: the yes stays a yes
    page.wait_for_url(re.compile(rf"/cases/{case.pk}/$"))
    assert AttributeValue.objects.get(definition=program, case=case).value is True

    page.get_by_role("link", name="Add informant").click()
    page.fill("input[name=pseudonym]", "Tone Berg")
    page.locator("select[name=level]").select_option(index=1)
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(rf"/cases/{case.pk}/$"))
    assert Informant.objects.filter(case=case, pseudonym="Tone Berg").exists()
    assert page.get_by_role("link", name="Import transcript").count() == 1


def test_a_researcher_sees_informant_and_import_links_but_not_case_editing(
    page, live_server, project, case, bob
):
    log_in(page, live_server, "bob")
    page.goto(live_server.url + reverse("coding:case-detail", args=[case.pk]))
    assert page.get_by_role("link", name="Add informant").count() == 1
    assert page.get_by_role("link", name="Import transcript").count() == 1
    assert page.get_by_role("link", name="Edit case").count() == 0
    page.goto(live_server.url + project.get_absolute_url())
    assert page.get_by_role("link", name="New case").count() == 0
