"""The codebook and its codes (django-taggit tags unique per codebook)."""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from taggit.models import TagBase

from coding.models.project import Membership, Project

if TYPE_CHECKING:
    from coding.models.memos import FrameworkSummary


class Codebook(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="codebooks")
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        constraints = [
            # One codebook per project for now; the constraint keeps Project.codebook honest.
            models.UniqueConstraint(fields=["project"], name="codebook_one_per_project"),
        ]
        verbose_name = _("codebook")

    def __str__(self) -> str:
        return self.name


def name_key(name: str) -> str:
    """The form in which two code names are the same name: NFC, then Unicode case folding.

    The one definition of "the same code name" (forms, in-vivo reuse, exchange import, demo).
    Stored in ``Code.name_key`` under a plain unique constraint because neither database folds
    case the same way: SQLite's ``lower()`` knows only ASCII ("Ærlige" ≠ "ærlige") and
    PostgreSQL's depends on the database's collation (ASCII-only under "C"; "ß" never "ss").
    """
    return unicodedata.normalize("NFC", name).casefold()


class CodeQuerySet(models.QuerySet["Code"]):
    def in_tree_order(self) -> list[Code]:
        """Codes depth-first by parent and order, each with ``depth`` set."""
        codes = list(self.order_by("order", "name"))
        children: dict[int | None, list[Code]] = {}
        for c in codes:
            children.setdefault(c.parent_id, []).append(c)
        out: list[Code] = []

        def walk(parent_id: int | None, depth: int) -> None:
            for c in children.get(parent_id, []):
                c.depth = depth
                out.append(c)
                walk(c.pk, depth + 1)

        walk(None, 0)
        return out


class Code(TagBase):
    """A code of one codebook: a django-taggit tag whose name is unique per codebook only.

    Never apply a code by its name as a string: pass Code objects to coding.services, which checks
    the codebook.
    """

    # Re-declared without unique=True: uniqueness is per codebook (see Meta.constraints).
    name = models.CharField(_("name"), max_length=100)
    # name_key(name), set by save(); case folding can make a name up to three times as long.
    name_key = models.CharField(max_length=300, editable=False)
    slug = models.SlugField(_("slug"), max_length=100, allow_unicode=True)
    codebook = models.ForeignKey(Codebook, on_delete=models.CASCADE, related_name="codes")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    short_name = models.CharField(_("short name"), max_length=30, blank=True)
    definition = models.TextField(_("definition"), blank=True)
    inclusion = models.TextField(_("when to use"), blank=True)
    exclusion = models.TextField(_("when not to use"), blank=True)
    example = models.TextField(_("example"), blank=True)
    keywords = models.TextField(
        _("keywords"), blank=True, help_text=_("One word or phrase per line, for suggestions.")
    )
    color = models.CharField(_("colour"), max_length=7, default="#f4d03f")
    shortcut = models.CharField(_("keyboard shortcut"), max_length=1, blank=True)
    order = models.PositiveIntegerField(default=0)

    objects = CodeQuerySet.as_manager()

    # Set by coding.access on the object it resolves: the acting user's membership in its project.
    membership: Membership
    # Set by CodeQuerySet.in_tree_order: how deep the code sits in the tree (0 at the top).
    depth: int
    # Not stored: what the pages that list codes set on them for their templates.
    n_codings: int  # annotated: the code's codings (codebook editor)
    n_total: int  # with its sub-codes' codings (codebook editor)
    n_children: int
    bar: int  # n_codings as a percentage of the largest
    kids: list[Code]  # the sub-codes, for the editor's nested list
    indent: str  # em spaces by depth, for a <select> (codebook editor, search)
    n_here: int  # codings in the open transcript (transcript view)
    n_project: int  # codings in the project (transcript view)
    synthesis: FrameworkSummary | None  # the cross-case summary (framework matrix)

    class Meta:
        ordering = ["order", "name"]
        constraints = [
            # Names are unique case-insensitively for every script, not only ASCII (see name_key).
            models.UniqueConstraint(fields=["codebook", "name_key"], name="code_name_key_unique"),
            models.UniqueConstraint(fields=["codebook", "slug"], name="code_slug_unique"),
            models.UniqueConstraint(
                fields=["codebook", "shortcut"],
                condition=~Q(shortcut=""),
                name="code_shortcut_unique",
            ),
            models.CheckConstraint(
                condition=Q(color__regex=r"^#[0-9a-fA-F]{6}$"), name="code_color_hex"
            ),
        ]
        verbose_name = _("code")

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.name_key = name_key(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "name_key"}
        # TagBase.save makes slugs unique site-wide; ours need only be unique per codebook.
        if not self.slug:
            base = slugify(self.name, allow_unicode=True)[:90] or "code"
            slug, i = base, 1
            taken = set(
                Code.objects.filter(codebook_id=self.codebook_id, slug__startswith=base)
                .exclude(pk=self.pk)
                .values_list("slug", flat=True)
            )
            while slug in taken:
                i += 1
                slug = f"{base}-{i}"
            self.slug = slug
        models.Model.save(self, *args, **kwargs)

    def descendant_ids(self) -> set[int]:
        """Ids of every code below this one, at any depth (one query over the codebook)."""
        children: dict[int | None, list[int]] = {}
        rows = Code.objects.filter(codebook_id=self.codebook_id).values_list("pk", "parent_id")
        for pk, parent_id in rows:
            children.setdefault(parent_id, []).append(pk)
        out: set[int] = set()
        stack = list(children.get(self.pk, []))
        while stack:
            pk = stack.pop()
            if pk not in out:
                out.add(pk)
                stack.extend(children.get(pk, []))
        return out

    def delete_impact(self) -> dict[str, int]:
        """What deleting this code takes with it: codings, sub-codes and memos (all depths)."""
        from coding.models.coding import Coding  # above this module in the layers
        from coding.models.memos import Memo

        below = self.descendant_ids()
        ids = {self.pk, *below}
        return {
            "codings": Coding.objects.filter(tag_id__in=ids).count(),
            "subcodes": len(below),
            "memos": Memo.objects.filter(code_id__in=ids).count(),
        }

    def merge_impact(self, target: Code) -> dict[str, int]:
        """What merging this code into ``target`` would do (see services.code_merge)."""
        from coding.models.coding import Coding  # above this module in the layers

        mine = Coding.objects.filter(tag=self)
        collapsing = mine.filter(
            models.Exists(
                Coding.objects.filter(
                    tag=target,
                    content_object=models.OuterRef("content_object"),
                    coder=models.OuterRef("coder"),
                )
            )
        ).count()
        return {
            "codings": mine.count(),
            "collapsing": collapsing,
            "memos": self.memos.count(),
            "subcodes": self.children.count(),
        }
