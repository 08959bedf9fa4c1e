"""An owner imports a small .qdpx in a real Chromium: uploads it, maps its two users in the
preview, confirms, and opens the imported source with its codings shown."""

from __future__ import annotations

import pytest
from django.urls import reverse

from coding.models import Coding, Transcript

from .test_exchange_import import C1, C2, S1, U1, U2, qde, qdpx, sel
from .test_workspace_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = "I: Hvordan går det?\n\nKari: Vi møtes hver uke med NAV.\n\nI: Og så?\n\nKari: Bra 👍."


def test_an_owner_imports_a_qdpx_maps_its_users_and_sees_the_codings(
    page, live_server, alice, bob, project, codebook, tmp_path
):
    s = TEXT.index("Vi møtes")
    body = (
        f'<Sources><TextSource guid="{S1}" name="Intervju Kari">'
        f"<PlainTextContent>{TEXT}</PlainTextContent>"
        + sel(s, s + 8, code=C1, user=U1, guid="5e1ec700-0000-4000-8000-00000000000a")
        + sel(s, s + 17, code=C2, user=U2, guid="5e1ec700-0000-4000-8000-00000000000b")
        + "</TextSource></Sources>"
    )
    path = tmp_path / "fra-nvivo.qdpx"
    path.write_bytes(qdpx(qde(body)).getvalue())
    log_in(page, live_server, "alice")
    page.goto(live_server.url + reverse("coding:project-detail", args=[project.pk]))
    page.click("text=Import REFI-QDA (.qdpx, .qdc)")
    page.set_input_files("input[name=file]", str(path))
    page.click("button:has-text('Continue to preview')")
    page.wait_for_selector("[data-exchange-summary]")
    assert "2 codings" in page.inner_text("[data-exchange-summary]")
    page.fill("input[name=new_project_name]", "Fra NVivo")
    # The two users of the file: Kari becomes bob, Ola a new coder account.
    page.select_option("tr:has-text('Kari Nordmann') select", label="existing member: bob")
    page.select_option("tr:has-text('Ola') select", value="coder")
    page.click("button:has-text('Import')")
    page.wait_for_url(lambda url: "/jobs/" in url)
    page.wait_for_selector("text=Imported into")
    t = Transcript.objects.get(case__project__name="Fra NVivo")
    coders = sorted(c.coder.username for c in Coding.objects.filter(content_object__transcript=t))
    assert coders[0] == "bob" and coders[1] != "bob"
    page.goto(live_server.url + reverse("coding:transcript-detail", args=[t.pk]))
    page.wait_for_selector("body[data-ws-ready='1']", state="attached")
    page.wait_for_function("() => document.querySelectorAll('.stripe').length >= 2")
    assert page.locator(".stripe").count() == 2
