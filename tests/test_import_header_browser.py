"""The import preview's header choice in a real Chromium: the proposed header's lines are
marked as not interview text, choosing another line moves the mark (CSS only, no script), and
the choice is what the import stores."""

from __future__ import annotations

import pytest
from django.urls import reverse

from coding import services
from coding.models import Transcript

from .factories import InformantFactory
from .test_workspace_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = "\n\n".join(
    [
        "Intervju om bolig",
        "Sted: rådhuset",
        "I: Hvordan fordeles boligene?",
        "IP: I et utvalg.",
    ]
)


def marked(page) -> list[bool]:
    return [
        page.locator(".preview-lines li.line").nth(i).locator(".header-badge").is_visible()
        for i in range(page.locator(".preview-lines li.line").count())
    ]


def test_the_researcher_moves_the_end_of_the_header_and_the_import_keeps_it(
    page, live_server, alice, project, case
):
    InformantFactory(case=case, pseudonym="Tone")
    job = services.import_prepare(project=project, case=case, user=alice, pasted=TEXT, title="H")
    log_in(page, live_server, "alice")
    page.goto(live_server.url + reverse("coding:import-preview", args=[job.pk]))
    assert marked(page) == [True, True, False, False]  # proposed: the lines before "I:"
    page.locator(".preview-lines li.line").nth(2).locator("input[type=radio]").check()
    assert marked(page) == [True, True, True, False]
    page.locator(".preview-lines li.no-header input[type=radio]").check()
    assert marked(page) == [False, False, False, False]
    page.locator(".preview-lines li.line").nth(0).locator("input[type=radio]").check()
    assert marked(page) == [True, False, False, False]
    page.click("button.primary[type=submit]")
    page.wait_for_url(lambda url: "/jobs/" in url)
    t = Transcript.objects.get(title="H")
    header = t.turns.get(is_header=True)
    assert t.text[header.start : header.end] == "Intervju om bolig"
    # "Sted: rådhuset" is no longer header: unlabelled text before the first speaker.
    assert t.turns.filter(is_header=False, label="").exists()
