"""coding/services/members.py: who joins a project with which role, and that a project always
keeps an owner. Each refusal leaves the memberships and the audit trail as they were."""

import pytest
from django.core.exceptions import ValidationError

from coding import services
from coding.models import AuditAction, AuditEvent, Membership, Role

from .factories import UserFactory


def _member_events():
    return list(AuditEvent.objects.filter(action=AuditAction.MEMBER_CHANGE).order_by("id"))


def _code_of(exc_info) -> str:
    return exc_info.value.code


def test_adding_a_member_records_who_added_whom_with_which_role(project, alice):
    dora = UserFactory(username="dora")
    m = services.member_add(project=project, actor=alice, user=dora, role=Role.RESEARCHER)
    assert (m.user, m.role) == (dora, Role.RESEARCHER)
    (ev,) = _member_events()
    assert ev.actor == alice and ev.details == {
        "change": "add",
        "member": "dora",
        "member_id": dora.pk,
        "role": Role.RESEARCHER,
    }


@pytest.mark.parametrize(
    ("make_user", "role", "code"),
    [
        (lambda: UserFactory(username="dora"), "admin", "role_invalid"),
        (lambda: UserFactory(username="dora", is_active=False), Role.RESEARCHER, "user_inactive"),
        (lambda: UserFactory(username="bob"), Role.SUPERVISOR, "member_exists"),
    ],
)
def test_adding_a_member_refuses_a_bad_role_a_disabled_account_or_a_member(
    project, alice, bob, make_user, role, code
):
    before = set(Membership.objects.values_list("user_id", "role"))
    with pytest.raises(ValidationError) as exc:
        services.member_add(project=project, actor=alice, user=make_user(), role=role)
    assert _code_of(exc) == code
    assert set(Membership.objects.values_list("user_id", "role")) == before
    assert _member_events() == []


def test_an_invited_colleague_gets_an_account_without_a_password(project, alice):
    m = services.member_invite(
        project=project,
        actor=alice,
        username="  kari.nordmann ",
        email=" kari@example.no ",
        full_name="Kari Nordmann Berg",
        role=Role.RESEARCHER,
    )
    user = m.user
    assert user.username == "kari.nordmann" and user.email == "kari@example.no"
    # The first word is the first name; the rest, however many words, the last name.
    assert (user.first_name, user.last_name) == ("Kari", "Nordmann Berg")
    assert not user.has_usable_password()
    assert m.project == project and m.role == Role.RESEARCHER
    assert _member_events()[0].details["member"] == "kari.nordmann"


def test_an_invitation_refuses_a_taken_user_name_whatever_its_case(project, alice, bob):
    with pytest.raises(ValidationError) as exc:
        services.member_invite(project=project, actor=alice, username="BOB", role=Role.RESEARCHER)
    assert _code_of(exc) == "username_taken"
    assert Membership.objects.filter(project=project).count() == 2


@pytest.mark.parametrize("username", ["kari nordmann", "", "kari/nordmann"])
def test_an_invitation_refuses_a_user_name_django_would_refuse(project, alice, username):
    from django.contrib.auth import get_user_model

    with pytest.raises(ValidationError) as exc:
        services.member_invite(
            project=project, actor=alice, username=username, role=Role.RESEARCHER
        )
    assert _code_of(exc) == "username_invalid"
    assert not get_user_model().objects.filter(username__startswith="kari").exists()


def test_changing_a_role_records_the_old_and_the_new_one(project, alice, bob):
    m = Membership.objects.get(project=project, user=bob)
    services.member_set_role(membership=m, actor=alice, role=Role.SUPERVISOR)
    assert Membership.objects.get(pk=m.pk).role == Role.SUPERVISOR
    (ev,) = _member_events()
    assert (ev.details["change"], ev.details["role"], ev.details["old_role"]) == (
        "role",
        Role.SUPERVISOR,
        Role.RESEARCHER,
    )


def test_setting_the_role_a_member_has_changes_nothing_and_records_nothing(project, alice, bob):
    m = Membership.objects.get(project=project, user=bob)
    services.member_set_role(membership=m, actor=alice, role=Role.RESEARCHER)
    assert _member_events() == []


def test_a_bad_role_is_refused_before_anything_changes(project, alice, bob):
    m = Membership.objects.get(project=project, user=bob)
    with pytest.raises(ValidationError) as exc:
        services.member_set_role(membership=m, actor=alice, role="superuser")
    assert _code_of(exc) == "role_invalid"
    assert Membership.objects.get(pk=m.pk).role == Role.RESEARCHER


def test_the_last_owner_can_neither_step_down_nor_leave(project, alice, bob):
    owner = Membership.objects.get(project=project, user=alice)
    with pytest.raises(ValidationError) as exc:
        services.member_set_role(membership=owner, actor=alice, role=Role.RESEARCHER)
    assert _code_of(exc) == "last_owner"
    with pytest.raises(ValidationError) as exc:
        services.member_remove(membership=owner, actor=alice)
    assert _code_of(exc) == "last_owner"
    assert Membership.objects.get(pk=owner.pk).role == Role.OWNER
    assert _member_events() == []


def test_an_owner_may_step_down_once_someone_else_owns_the_project(project, alice, bob):
    services.member_set_role(
        membership=Membership.objects.get(project=project, user=bob), actor=alice, role=Role.OWNER
    )
    owner = Membership.objects.get(project=project, user=alice)
    services.member_set_role(membership=owner, actor=alice, role=Role.RESEARCHER)
    assert list(
        Membership.objects.filter(project=project, role=Role.OWNER).values_list(
            "user__username", flat=True
        )
    ) == ["bob"]
    # Now alice is no owner, bob is the last one and cannot leave.
    with pytest.raises(ValidationError):
        services.member_remove(
            membership=Membership.objects.get(project=project, user=bob), actor=bob
        )


def test_a_stale_membership_object_is_judged_by_the_role_in_the_database(project, alice, bob):
    """The view loaded bob's membership as researcher; meanwhile he became the only owner."""
    seen = Membership.objects.get(project=project, user=bob)
    Membership.objects.filter(project=project, user=bob).update(role=Role.OWNER)
    Membership.objects.filter(project=project, user=alice).update(role=Role.RESEARCHER)
    with pytest.raises(ValidationError) as exc:
        services.member_remove(membership=seen, actor=alice)
    assert _code_of(exc) == "last_owner"
    assert Membership.objects.filter(pk=seen.pk).exists()
