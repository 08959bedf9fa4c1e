"""The codebook and its codes (django-taggit tags unique per codebook)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

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


class TreeNode(Protocol):
    """What the code-tree walk needs of a node: a Code, or a row of one (exports.rows.CodeRow)."""

    @property
    def id(self) -> int: ...

    @property
    def parent_id(self) -> int | None: ...


NodeT = TypeVar("NodeT", bound=TreeNode)


class CodeHierarchy(Generic[NodeT]):
    """The one walk of the code tree (the queryset, the codebook pages, the matrices, the Word
    and REFI-QDA exports all call it): depth-first, each node's children in the order given.

    A node is visited once, so a cycle (which no write makes, but a bad import could) ends the
    walk instead of looping; nodes reachable from no top-level code are left out.
    """

    def __init__(self, nodes: Iterable[NodeT]) -> None:
        self.nodes: list[NodeT] = list(nodes)
        self.by_id: dict[int, NodeT] = {n.id: n for n in self.nodes}
        self.children: dict[int | None, list[NodeT]] = {}
        for n in self.nodes:
            self.children.setdefault(n.parent_id, []).append(n)

    def walk(self, below: int | None = None) -> Iterator[tuple[NodeT, int]]:
        """(node, depth) for every node under ``below`` (the top level when None), depth 0 first."""
        seen: set[int] = set() if below is None else {below}
        stack = [(n, 0) for n in reversed(self.children.get(below, []))]
        while stack:
            node, depth = stack.pop()
            if node.id in seen:
                continue
            seen.add(node.id)
            yield node, depth
            stack.extend((c, depth + 1) for c in reversed(self.children.get(node.id, [])))

    def below(self, node_id: int) -> list[NodeT]:
        """Every node under ``node_id``, at any depth, in walk order (not the node itself)."""
        return [n for n, _depth in self.walk(node_id)]

    def ancestors(self, node_id: int) -> list[int]:
        """The ids above ``node_id``, its parent first (only those among the nodes)."""
        out: list[int] = []
        parent = self.by_id[node_id].parent_id
        while parent is not None and parent in self.by_id and parent not in (node_id, *out):
            out.append(parent)
            parent = self.by_id[parent].parent_id
        return out


def field_limit(model: type[models.Model], name: str) -> int:
    """The ``max_length`` of a model's text field: the one source of a field's limit (forms,
    services and imports read it here instead of repeating the number)."""
    limit = getattr(model._meta.get_field(name), "max_length", None)
    if not isinstance(limit, int):
        raise TypeError(f"{model.__name__}.{name} has no max_length")
    return limit


class CodeQuerySet(models.QuerySet["Code"]):
    # bulk_create and bulk_update skip save(): they set name_key themselves, so no path writes a
    # code without the key its uniqueness rests on.
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for code in objs:
            code.name_key = name_key(code.name)
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs, fields = list(objs), list(fields)
        if "name" in fields:
            for code in objs:
                code.name_key = name_key(code.name)
            fields.append("name_key")
        return super().bulk_update(objs, fields, *args, **kwargs)

    def in_tree_order(self) -> list[Code]:
        """Codes depth-first by parent and order, each with ``depth`` set."""
        out: list[Code] = []
        for c, depth in CodeHierarchy(self.order_by("order", "name")).walk():
            c.depth = depth
            out.append(c)
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
    memos_beside: list[Any]  # the memos on it and linking to it (memo_overview.Beside), editor
    n_here: int  # codings in the open transcript (transcript view)
    n_project: int  # codings in the project (transcript view)
    synthesis: FrameworkSummary | None  # the cross-case summary (framework matrix)

    class Meta:
        ordering = ["order", "name"]
        constraints = [
            # Names are unique case-insensitively for every script, not only ASCII (see name_key).
            models.UniqueConstraint(fields=["codebook", "name_key"], name="code_name_key_unique"),
            models.CheckConstraint(condition=~Q(name_key=""), name="code_name_key_set"),
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
        codes = Code.objects.filter(codebook_id=self.codebook_id).only("pk", "parent_id")
        return {c.id for c in CodeHierarchy(codes).below(self.pk)}

    def delete_impact(self) -> dict[str, int]:
        """What deleting this code takes with it: codings, sub-codes and memos (all depths)."""
        # Counted through the reverse relations: codings and memos sit above this module.
        below = self.descendant_ids()
        codes = Code.objects.filter(pk__in={self.pk, *below})
        return {
            "codings": codes.aggregate(n=models.Count("codings"))["n"],
            "subcodes": len(below),
            "memos": codes.aggregate(n=models.Count("memos"))["n"],
        }

    def merge_impact(self, target: Code) -> dict[str, int]:
        """What merging this code into ``target`` would do (see services.code_merge)."""
        mine = self.codings.all()  # the reverse relation: codings sit above this module
        collapsing = mine.filter(
            models.Exists(
                target.codings.filter(
                    content_object=models.OuterRef("content_object"),
                    coder=models.OuterRef("coder"),
                    layer=models.OuterRef("layer"),
                )
            )
        ).count()
        return {
            "key_quotes": self.key_quotes.count(),
            "codings": mine.count(),
            "collapsing": collapsing,
            "memos": self.memos.count(),
            "subcodes": self.children.count(),
        }
