"""Projects, their members, cases, informants and the attributes that describe them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from taggit.managers import TaggableManager

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from coding.models.codebook import Codebook


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    RESEARCHER = "researcher", _("Researcher")
    SUPERVISOR = "supervisor", _("Supervisor")


WRITE_ROLES = (Role.OWNER, Role.RESEARCHER)


class ProjectQuerySet(models.QuerySet["Project"]):
    def for_user(self, user: User | AnonymousUser) -> ProjectQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user)


class Project(models.Model):
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    memos_required = models.BooleanField(
        _("excerpts need memos"),
        default=False,
        help_text=_("Supervisors see excerpts without memos when this is on."),
    )
    interviewer_turns_are_interview_text = models.BooleanField(
        _("interviewer turns are interview text"),
        default=False,
        help_text=_(
            "Search, coding suggestions and the matrices' share of text read the "
            "interviewer's turns too."
        ),
    )
    blind_coding = models.BooleanField(
        _("blind coding"),
        default=False,
        help_text=_(
            "Researchers see only their own codings in every transcript that does not turn "
            "blind coding off for itself. Supervisors and owners see everything."
        ),
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = ProjectQuerySet.as_manager()

    # Set by coding.access on the object it resolves: the acting user's membership in its project.
    membership: Membership

    class Meta:
        ordering = ["name"]
        verbose_name = _("project")
        verbose_name_plural = _("projects")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("coding:project-detail", args=[self.pk])

    @property
    def codebook(self) -> Codebook:
        return self.codebooks.get()


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now)

    # Set by coding.access on the object it resolves: the acting user's membership in its project.
    membership: Membership

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique"),
            models.CheckConstraint(
                condition=Q(role__in=[r.value for r in Role]), name="membership_role_valid"
            ),
        ]
        verbose_name = _("membership")

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.project}"

    @property
    def can_write(self) -> bool:
        return self.role in WRITE_ROLES


class CaseKind(models.TextChoices):
    CASE_STUDY = "case_study", _("Case municipality")
    IN_DEPTH = "in_depth", _("In-depth interview municipality")


class Case(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="cases")
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=CaseKind.choices)
    description = models.TextField(_("description"), blank=True)
    order = models.PositiveIntegerField(default=0)
    tags = TaggableManager(blank=True, verbose_name=_("tags"))

    # Set by coding.access on the object it resolves: the acting user's membership in its project.
    membership: Membership

    class Meta:
        ordering = ["order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="case_name_unique"),
        ]
        verbose_name = _("case")
        verbose_name_plural = _("cases")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("coding:case-detail", args=[self.pk])


class Level(models.TextChoices):
    STRATEGIC = "strategic", _("Strategic")
    OPERATIVE = "operative", _("Operative")
    USER = "user", _("User or resident")


class Informant(models.Model):
    """A person interviewed, always under a pseudonym."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="informants")
    pseudonym = models.CharField(_("pseudonym"), max_length=100)
    role_title = models.CharField(_("role"), max_length=200, blank=True)
    level = models.CharField(_("level"), max_length=20, choices=Level.choices)
    org_unit = models.CharField(_("organisation unit"), max_length=200, blank=True)

    # Set by coding.access on the object it resolves: the acting user's membership in its project.
    membership: Membership

    class Meta:
        ordering = ["case", "pseudonym"]
        constraints = [
            models.UniqueConstraint(fields=["case", "pseudonym"], name="informant_unique"),
        ]
        verbose_name = _("informant")

    def __str__(self) -> str:
        return f"{self.pseudonym} ({self.role_title})" if self.role_title else self.pseudonym


class AttributeKind(models.TextChoices):
    TEXT = "text", _("Text")
    INTEGER = "integer", _("Integer")
    DECIMAL = "decimal", _("Decimal")
    BOOLEAN = "boolean", _("Yes/no")
    DATE = "date", _("Date")


class AttributeTarget(models.TextChoices):
    CASE = "case", _("Case")
    INFORMANT = "informant", _("Informant")


class AttributeDefinition(models.Model):
    """A typed attribute of cases or informants, defined per project (data, not columns)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="attributes")
    target = models.CharField(max_length=20, choices=AttributeTarget.choices)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("type"), max_length=20, choices=AttributeKind.choices)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["target", "order", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "target", "name"], name="attribute_name_unique"
            ),
        ]
        verbose_name = _("attribute")

    def __str__(self) -> str:
        return self.name


class AttributeValue(models.Model):
    """One typed value; exactly one of case/informant is set and one value column is used."""

    definition = models.ForeignKey(
        AttributeDefinition, on_delete=models.CASCADE, related_name="values"
    )
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.CASCADE, related_name="attribute_values"
    )
    informant = models.ForeignKey(
        Informant,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="attribute_values",
    )
    value_text = models.CharField(max_length=500, blank=True, default="")
    value_integer = models.BigIntegerField(null=True, blank=True)
    value_decimal = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    value_boolean = models.BooleanField(null=True, blank=True)
    value_date = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(case__isnull=False) & Q(informant__isnull=True))
                | (Q(case__isnull=True) & Q(informant__isnull=False)),
                name="attribute_value_one_owner",
            ),
            models.UniqueConstraint(
                fields=["definition", "case"],
                condition=Q(case__isnull=False),
                name="attribute_value_case_unique",
            ),
            models.UniqueConstraint(
                fields=["definition", "informant"],
                condition=Q(informant__isnull=False),
                name="attribute_value_informant_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.definition.name}: {self.display()}"

    @property
    def value(self):
        return getattr(self, f"value_{self.definition.kind}")

    def display(self) -> str:
        """The value as pages and exports show it, in the active language: 100 581 and 1,1
        in Norwegian, 100,581 and 1.1 in English; dates in the language's short form."""
        v = self.value
        if v is None:
            return ""
        if isinstance(v, bool):
            return str(_("Yes") if v else _("No"))
        if isinstance(v, Decimal):
            return formats.number_format(Decimal(f"{v.normalize():f}"), force_grouping=True)
        if isinstance(v, int):
            return formats.number_format(v, force_grouping=True)
        if isinstance(v, dt.date):
            return formats.date_format(v, "SHORT_DATE_FORMAT")
        return str(v)
