"""Owners invite, remove and re-role members; removed members' codings stay, attributed."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from coding import services
from coding.models import AuditAction, AuditEvent, Coding, Membership, Role

from .factories import ProjectFactory, TranscriptFactory, UserFactory


@pytest.fixture
def transcript(case):
    return TranscriptFactory(case=case)


def membership(project, user) -> Membership:
    return Membership.objects.get(project=project, user=user)


def test_every_member_sees_the_member_list_but_only_owners_get_the_forms(
    alice_client, sue_client, project, alice, bob, sue
):
    url = reverse("coding:member-list", args=[project.pk])
    r = sue_client.get(url)
    assert r.status_code == 200
    page = r.content.decode()
    assert "bob" in page and "alice" in page
    assert reverse("coding:member-add", args=[project.pk]) not in page
    r = alice_client.get(url)
    assert reverse("coding:member-add", args=[project.pk]) in r.content.decode()
    assert reverse("coding:member-remove", args=[membership(project, bob).pk]) in r.content.decode()


def test_charlie_cannot_see_who_is_in_the_project(charlie_client, project, alice):
    assert charlie_client.get(reverse("coding:member-list", args=[project.pk])).status_code == 404
    m = membership(project, alice)
    assert charlie_client.post(reverse("coding:member-remove", args=[m.pk])).status_code == 404
    assert charlie_client.post(reverse("coding:member-role", args=[m.pk])).status_code == 404


def test_an_owner_adds_an_existing_account(alice_client, project, alice):
    dora = UserFactory(username="dora")
    r = alice_client.post(
        reverse("coding:member-add", args=[project.pk]),
        {"username": "Dora", "role": Role.SUPERVISOR},
    )
    assert r.status_code == 302
    assert membership(project, dora).role == Role.SUPERVISOR
    event = AuditEvent.objects.get(action=AuditAction.MEMBER_CHANGE)
    assert event.actor == alice
    assert event.details == {
        "change": "add",
        "member": "dora",
        "member_id": dora.pk,
        "role": "supervisor",
    }


def test_adding_an_unknown_account_explains_how_to_invite(alice_client, project, alice):
    r = alice_client.post(
        reverse("coding:member-add", args=[project.pk]),
        {"username": "nobody", "role": Role.RESEARCHER},
    )
    assert r.status_code == 400
    assert "no_such_user" in [e.code for e in r.context["add_form"].non_field_errors().as_data()]
    assert Membership.objects.filter(project=project).count() == 1


def test_an_invited_colleague_chooses_a_password_with_a_one_time_link(alice_client, project, alice):
    r = alice_client.post(
        reverse("coding:member-add", args=[project.pk]),
        {
            "username": "dora",
            "role": Role.RESEARCHER,
            "new_account": "on",
            "full_name": "Dora Dahl",
            "email": "dora@example.org",
        },
    )
    assert r.status_code == 200
    link = r.context["link"]
    dora = get_user_model().objects.get(username="dora")
    assert not dora.has_usable_password()
    assert (dora.first_name, dora.last_name, dora.email) == ("Dora", "Dahl", "dora@example.org")
    assert membership(project, dora).role == Role.RESEARCHER

    guest = Client()
    r = guest.get(link)
    assert r.status_code == 302, "Django moves the token into the session"
    form_url = r.url
    weak = guest.post(form_url, {"new_password1": "dora", "new_password2": "dora"})
    assert weak.status_code == 200 and weak.context["form"].errors
    new = "Hardanger i mai 1987"
    r = guest.post(form_url, {"new_password1": new, "new_password2": new})
    assert r.status_code == 302 and r.url == reverse("password_reset_complete")
    dora.refresh_from_db()
    assert dora.check_password(new)
    # The link works once.
    again = Client().get(link, follow=True)
    assert not again.context["validlink"]
    assert Client().login(username="dora", password=new)


def test_inviting_a_taken_user_name_is_refused(alice_client, project, bob):
    r = alice_client.post(
        reverse("coding:member-add", args=[project.pk]),
        {"username": "BOB", "role": Role.RESEARCHER, "new_account": "on"},
    )
    assert r.status_code == 400
    assert get_user_model().objects.filter(username__iexact="bob").count() == 1


def test_researchers_and_supervisors_cannot_manage_members(
    bob_client, sue_client, project, alice, bob
):
    m = membership(project, alice)
    for client in (bob_client, sue_client):
        r = client.post(
            reverse("coding:member-add", args=[project.pk]),
            {"username": "bob", "role": Role.OWNER},
        )
        assert r.status_code == 403
        assert client.post(reverse("coding:member-remove", args=[m.pk])).status_code == 403
        r = client.post(reverse("coding:member-role", args=[m.pk]), {"role": "supervisor"})
        assert r.status_code == 403
    assert membership(project, alice).role == Role.OWNER
    assert membership(project, bob).role == Role.RESEARCHER


def test_removing_a_member_keeps_their_codings_attributed(
    alice_client, project, alice, bob, transcript, codes
):
    services.excerpt_code(transcript=transcript, start=0, end=10, codes=codes[:2], coder=bob)
    m = membership(project, bob)
    confirm = alice_client.get(reverse("coding:member-remove", args=[m.pk]))
    assert confirm.status_code == 200 and confirm.context["n_codings"] == 2
    r = alice_client.post(reverse("coding:member-remove", args=[m.pk]))
    assert r.status_code == 302
    assert not Membership.objects.filter(project=project, user=bob).exists()
    assert Coding.objects.filter(coder=bob).count() == 2
    event = AuditEvent.objects.filter(action=AuditAction.MEMBER_CHANGE).get()
    assert event.details["change"] == "remove" and event.details["codings_kept"] == 2
    # The member page lists bob among former members, with his codings.
    page = alice_client.get(reverse("coding:member-list", args=[project.pk]))
    assert [(u.username, u.n_codings) for u in page.context["former"]] == [("bob", 2)]
    # And bob has lost access.
    bob_client = Client()
    bob_client.force_login(bob)
    assert bob_client.get(transcript.get_absolute_url()).status_code == 404


def test_the_last_owner_can_neither_leave_nor_be_demoted(alice_client, project, alice):
    m = membership(project, alice)
    r = alice_client.post(reverse("coding:member-remove", args=[m.pk]), follow=True)
    assert [m.level_tag for m in r.context["messages"]] == ["error"]
    assert membership(project, alice).role == Role.OWNER
    r = alice_client.post(reverse("coding:member-role", args=[m.pk]), {"role": "researcher"})
    assert r.status_code == 302
    assert membership(project, alice).role == Role.OWNER
    with pytest.raises(ValidationError) as exc:
        services.member_remove(membership=m, actor=alice)
    assert exc.value.code == "last_owner"
    assert not AuditEvent.objects.exists()


def test_an_owner_may_hand_over_and_then_step_down(alice_client, project, alice, bob):
    r = alice_client.post(
        reverse("coding:member-role", args=[membership(project, bob).pk]), {"role": "owner"}
    )
    assert r.status_code == 302
    r = alice_client.post(
        reverse("coding:member-role", args=[membership(project, alice).pk]),
        {"role": "supervisor"},
    )
    assert r.status_code == 302
    assert membership(project, alice).role == Role.SUPERVISOR
    assert membership(project, bob).role == Role.OWNER
    changes = list(
        AuditEvent.objects.filter(action=AuditAction.MEMBER_CHANGE)
        .order_by("id")
        .values_list("details__member", "details__role", "details__old_role")
    )
    assert changes == [("bob", "owner", "researcher"), ("alice", "supervisor", "owner")]


def test_a_membership_id_of_another_project_is_404_even_for_its_owner(alice_client, alice):
    other = ProjectFactory()
    stranger = Membership.objects.create(project=other, user=UserFactory(), role=Role.OWNER)
    r = alice_client.post(reverse("coding:member-role", args=[stranger.pk]), {"role": "owner"})
    assert r.status_code == 404
    assert alice_client.post(reverse("coding:member-remove", args=[stranger.pk])).status_code == 404
