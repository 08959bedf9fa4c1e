"""The codebook editor in a real Chromium (Playwright + pytest-django's live_server): drag a code
by its handle to nest it and to reorder it, move with the arrow buttons, see a refused cycle
explained, and a supervisor's page without controls."""

from __future__ import annotations

import pytest
from django.urls import reverse

from coding import services
from coding.models import Code

from .conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_editor(page, live_server, username: str, project) -> None:
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form:has(input[name=username]) button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto(live_server.url + reverse("coding:codebook", args=[project.pk]))


def drag(page, code: Code, onto: Code, where: str) -> None:
    """Drag ``code`` by its handle onto ``onto``'s row: "before", "inside" or "after"."""
    row = page.locator(f"#code-{onto.pk} > .code-row")
    box = row.bounding_box()
    y = {"before": 0.1, "inside": 0.5, "after": 0.9}[where] * box["height"]
    with page.expect_navigation():
        page.locator(f"#code-{code.pk} > .code-row .handle").drag_to(
            row, target_position={"x": box["width"] / 2, "y": y}
        )


def parent_and_order(code: Code) -> tuple[int | None, int]:
    code.refresh_from_db()
    return code.parent_id, code.order


def test_dragging_a_code_nests_it_and_reorders_it(page, live_server, alice, codebook, codes):
    a, b, c = codes
    open_editor(page, live_server, "alice", codebook.project)
    drag(page, c, onto=a, where="inside")
    assert parent_and_order(c) == (a.pk, 0)
    assert page.locator(f"#code-{a.pk} > ol.code-tree > #code-{c.pk}").count() == 1
    drag(page, b, onto=a, where="before")
    assert [x.name for x in Code.objects.filter(parent=None).order_by("order")] == [
        b.name,
        a.name,
    ]
    drag(page, c, onto=b, where="after")
    assert parent_and_order(c) == (None, 1)


def test_the_arrow_buttons_move_a_code_and_a_refused_drag_is_explained(
    page, live_server, alice, bob, codebook, codes
):
    a, b, c = codes
    services.code_move(code=b, actor=bob, parent=a)
    open_editor(page, live_server, "alice", codebook.project)
    with page.expect_navigation():
        page.click(f"#code-{c.pk} > .code-row button[value=up]")
    assert [x.name for x in Code.objects.filter(parent=None).order_by("order")] == [
        c.name,
        a.name,
    ]
    # The page never offers a drop inside the code's own sub-codes: it says why, and nothing
    # is posted.
    handle = page.locator(f"#code-{a.pk} > .code-row .handle")
    handle.drag_to(page.locator(f"#code-{b.pk} > .code-row"))
    assert parent_and_order(a)[0] is None
    assert (
        page.locator("[data-codebook-status]").text_content()
        == "A code cannot be placed inside its own sub-codes."
    )
    assert parent_and_order(b)[0] == a.pk


def test_a_supervisor_sees_definitions_but_no_handles_or_buttons(
    page, live_server, sue, codebook, codes
):
    codes[0].definition = "Ledelsen står bak arbeidet."
    codes[0].save()
    open_editor(page, live_server, "sue", codebook.project)
    assert page.get_by_text("Ledelsen står bak arbeidet.").is_visible()
    assert page.locator(".handle, .code-actions, #add").count() == 0
