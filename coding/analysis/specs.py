"""Row and column specs of the analysis matrices: what the rows are (cases, case kinds,
informant levels, attribute values, maybe grouped into ranges) and which codes the columns
count (the code tree, sub-codes rolled up or not).

A row key is the string the matrix puts in its cell links (``RowSpec.key_str``), a column key
a code id; ``TOTAL`` stands for a row's or a column's total.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Case as DbCase
from django.db.models import F, IntegerField, OuterRef, Subquery, Value, When
from django.db.models.lookups import IsNull, LessThan
from django.utils.formats import number_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from coding.models import (
    AttributeDefinition,
    AttributeKind,
    AttributeValue,
    Case,
    CaseKind,
    Code,
    CodeHierarchy,
    CodingQuerySet,
    Informant,
    Level,
    Project,
)

TOTAL = "total"
NONE_KEY = "__none__"

# --- rows -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowSpec:
    """What the rows of a matrix are: cases, case kinds, informant levels or attribute values."""

    kind: str  # "cases" | "kind" | "level" | "case_attr" | "informant_attr"
    label: str
    definition: AttributeDefinition | None = None
    # Limits that group a numeric attribute's values into ranges: row i holds the values from
    # edges[i-1] up to (not including) edges[i]; the last row the values from edges[-1] on. The
    # row key is the range's number. None: a row per distinct value.
    edges: tuple[Decimal, ...] | None = None

    @property
    def by_speaker(self) -> bool:
        """Rows that follow who speaks, not which case (an excerpt's informant)."""
        return self.kind in ("level", "informant_attr")

    @property
    def attribute(self) -> AttributeDefinition:
        """The attribute of attribute rows ("case_attr", "informant_attr")."""
        if self.definition is None:
            raise ValueError(f"rows of {self.kind} have no attribute")
        return self.definition

    def expression(self) -> Any:
        """The row key of a coding (needs ``with_speaker()`` when ``by_speaker``)."""
        if self.kind == "cases":
            return F("content_object__transcript__case_id")
        if self.kind == "kind":
            return F("content_object__transcript__case__kind")
        if self.kind == "level":
            return Subquery(Informant.objects.filter(pk=OuterRef("speaker_id")).values("level")[:1])
        d = self.attribute
        column = f"value_{d.kind}"
        if self.kind == "case_attr":
            owner = {"case_id": OuterRef("content_object__transcript__case_id")}
        else:
            owner = {"informant_id": OuterRef("speaker_id")}
        return self._binned(
            Subquery(AttributeValue.objects.filter(definition_id=d.pk, **owner).values(column)[:1])
        )

    def _binned(self, value: Any) -> Any:
        """The attribute value, or the number of its range when the rows group values."""
        if self.edges is None:
            return value
        return DbCase(
            When(IsNull(value, True), then=Value(None)),
            *(When(LessThan(value, Value(e)), then=Value(i)) for i, e in enumerate(self.edges)),
            default=Value(len(self.edges)),
            output_field=IntegerField(),
        )

    def transcript_expression(self) -> Any:
        """The row key of a transcript, for rows made of whole cases (the share measure)."""
        if self.kind == "cases":
            return F("case_id")
        if self.kind == "kind":
            return F("case__kind")
        if self.kind == "case_attr":
            d = self.attribute
            return self._binned(
                Subquery(
                    AttributeValue.objects.filter(
                        definition_id=d.pk, case_id=OuterRef("case_id")
                    ).values(f"value_{d.kind}")[:1]
                )
            )
        raise ValueError("rows of speakers have no transcript key")

    def partitions(self, measure: str) -> bool:
        """Whether each counted unit falls in exactly one row, so rows add up to the totals.

        An excerpt has one case and one speaker, a transcript one case, an informant one case
        and one level; only a transcript can have speakers in several rows.
        """
        return not (self.by_speaker and measure == "transcripts")

    def key_str(self, value: Any) -> str:
        """The row key as it travels in URLs, from the database value (typed or raw)."""
        if value is None or value == "":
            return NONE_KEY
        if self.edges is not None:
            return str(int(value))
        if self.definition is not None:
            k = self.definition.kind
            if k == AttributeKind.BOOLEAN:
                return "1" if value in (True, 1, "1", "true", "True") else "0"
            if k == AttributeKind.DECIMAL:
                return f"{Decimal(str(value)).normalize():f}"
            if k == AttributeKind.INTEGER:
                return str(int(value))
            if k == AttributeKind.DATE:
                return value.isoformat() if isinstance(value, dt.date) else str(value)[:10]
        return str(value)

    def parse_key(self, key: str) -> Any:
        """The typed value of a row key from a URL; ValidationError when it cannot be one."""
        if key == NONE_KEY:
            return None
        bad = ValidationError(_("The row of this cell is not valid."), code="bad_row")
        try:
            if self.kind == "cases":
                return int(key)
            if self.kind == "kind":
                if key not in CaseKind.values:
                    raise bad
                return key
            if self.kind == "level":
                if key not in Level.values:
                    raise bad
                return key
            if self.edges is not None:
                if not key.isdigit() or int(key) > len(self.edges):
                    raise bad
                return int(key)
            k = self.attribute.kind
            if k == AttributeKind.BOOLEAN:
                if key not in ("0", "1"):
                    raise bad
                return key == "1"
            if k == AttributeKind.DECIMAL:
                return Decimal(key)
            if k == AttributeKind.INTEGER:
                return int(key)
            if k == AttributeKind.DATE:
                return dt.date.fromisoformat(key)
            return key
        except (ValueError, InvalidOperation) as exc:
            raise bad from exc

    def label_for(self, key: str, cases: Mapping[int, Case] | None = None) -> str:
        """A row's heading."""
        if key == NONE_KEY:
            return gettext("(no value)")
        if self.kind == "cases":
            case = (cases or {}).get(int(key))
            return case.name if case else key
        if self.kind == "kind":
            return str(CaseKind(key).label)
        if self.kind == "level":
            return str(Level(key).label)
        value = self.parse_key(key)
        if self.edges is not None:
            return self.range_label(value)
        if isinstance(value, bool):
            return gettext("Yes") if value else gettext("No")
        return str(value)

    def range_label(self, i: int) -> str:
        """A range's heading: "under 10 000", "10 000 – under 50 000", "50 000 or more"."""
        edges = [number_format(e, force_grouping=True) for e in self.edges or ()]
        if i == 0:
            return gettext("under %(hi)s") % {"hi": edges[0]}
        if i == len(edges):
            return gettext("%(lo)s or more") % {"lo": edges[-1]}
        return gettext("%(lo)s – under %(hi)s") % {"lo": edges[i - 1], "hi": edges[i]}

    def filter_key(self, qs: CodingQuerySet, key: str) -> CodingQuerySet:
        """The codings of one row: the same row expression, compared with the key."""
        value = self.parse_key(key)
        if self.kind == "cases":
            return qs.filter(content_object__transcript__case_id=value)
        qs = qs.annotate(_row_key=self.expression())
        # django-stubs does not follow an annotation made on a custom QuerySet subclass.
        if value is None:
            return qs.filter(_row_key__isnull=True)  # type: ignore[misc]
        return qs.filter(_row_key=value)  # type: ignore[misc]


# --- columns --------------------------------------------------------------------------------


@dataclass
class CodeTree:
    """The project's codes in tree order (one query), with the sub-code relation in memory."""

    codes: list[Code]

    def __post_init__(self) -> None:
        self.hierarchy = CodeHierarchy(self.codes)
        self.by_id = self.hierarchy.by_id

    @classmethod
    def of(cls, project: Project) -> CodeTree:
        return cls(Code.objects.filter(codebook__project=project).in_tree_order())

    def subtree(self, code_id: int) -> set[int]:
        """The code and every code below it."""
        return {code_id, *(c.pk for c in self.hierarchy.below(code_id))}

    def ancestors(self, code_id: int) -> list[int]:
        return self.hierarchy.ancestors(code_id)

    def default_columns(self) -> list[Code]:
        """The first group of the codebook (the six factors), else the top-level codes."""
        children = self.hierarchy.children
        for root in children.get(None, []):
            if children.get(root.pk):
                return list(children[root.pk])
        return list(children.get(None, []))


@dataclass
class ColumnSpec:
    """The chosen codes as matrix columns, and which codings count in each."""

    codes: list[Code]
    rollup: bool
    tree: CodeTree

    def members(self, code_id: int) -> set[int]:
        """Codes whose codings count in the column of ``code_id``."""
        return self.tree.subtree(code_id) if self.rollup else {code_id}

    def tag_ids(self) -> set[int]:
        out: set[int] = set()
        for c in self.codes:
            out |= self.members(c.pk)
        return out

    def whole_codebook(self) -> bool:
        """Whether the columns count every code of the project (then the codes limit a set of
        the project's codings to nothing, and ``analysis.selection`` need not list them)."""
        return self.tag_ids() >= set(self.tree.by_id)

    def layers(self) -> list[dict[int, int]]:
        """code id -> column maps for CodingQuerySet.matrix_counts.

        With sub-codes rolled up, a chosen code under another chosen code counts in both
        columns; such codes go in a deeper layer (within a layer no column contains another).
        """
        chosen = {c.pk for c in self.codes}
        layers: dict[int, dict[int, int]] = {}
        for c in self.codes:
            depth = sum(1 for a in self.tree.ancestors(c.pk) if a in chosen) if self.rollup else 0
            layer = layers.setdefault(depth, {})
            for member in self.members(c.pk):
                layer[member] = c.pk
        return [layers[d] for d in sorted(layers)]
