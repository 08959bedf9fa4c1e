"""The filters of the analysis pages, and which codings they select.

One form, ``AnalysisFilterForm``, holds everything a matrix is built from: what the rows are,
which measure the cells show, and the filters (coder, informant level, transcript tags and
dates, case kind, cases, case and informant attributes, the codes and whether sub-codes roll up
into their parent). The attributes are data (AttributeDefinition / AttributeValue), so their
fields are made per project.

The function API, for the matrices and for anything else that wants "the codings of this filter"
(the Word export reuses it for "a filter of the matrix or one matrix cell"):

    filter_codings(project, data) -> CodingQuerySet
    cell_codings(project, data, row_key, col_key) -> CodingQuerySet
    cooccurrence_cell_codings(project, data, row_code_id, col_code_id) -> CodingQuerySet

``data`` is a QueryDict or a dict of the form's fields (request.GET of a matrix page works as
is); invalid data raises ValidationError. A row key is the string the matrix puts in its cell
links (``RowSpec.key_str``), a column key a code id (or "total" for a row total, as the row key
"total" is a column total). Every id set travels as a subquery, never as a long list of ids.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Case as DbCase
from django.db.models import (
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.lookups import IsNull, LessThan
from django.http import QueryDict
from django.utils.formats import number_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from taggit.models import Tag

from coding.models import (
    WRITE_ROLES,
    AttributeDefinition,
    AttributeKind,
    AttributeTarget,
    AttributeValue,
    Case,
    CaseKind,
    Code,
    Coding,
    CodingQuerySet,
    Informant,
    Level,
    Project,
    Transcript,
)

TOTAL = "total"
NONE_KEY = "__none__"

MEASURE_CHOICES = [
    ("excerpts", _("Coded excerpts")),
    ("transcripts", _("Transcripts")),
    ("informants", _("Informants")),
    ("words", _("Coded words")),
    ("share", _("Share of the case's text coded")),
]
DISPLAY_CHOICES = [
    ("count", _("Counts")),
    ("row", _("Row percentages")),
    ("col", _("Column percentages")),
]
# What the "Show" line says for the share measure (not a choice: the measure decides it).
SHARE_DISPLAY = [("share", _("Percent of the row's text"))]
BIN_CHOICES = [
    ("", _("a row per value")),
    ("quartiles", _("four equal groups (quartiles)")),
    ("limits", _("ranges with the limits below")),
]
QUARTILES = 4
SUBCODE_CHOICES = [
    ("rollup", _("Rolled up into their parent")),
    ("own", _("Shown on their own")),
]
COOCCURRENCE_CHOICES = [
    ("excerpt", _("Same excerpt")),
    ("overlap", _("Overlapping excerpts")),
    ("turn", _("Within the same speaker turn")),
]
BOOLEAN_CHOICES = [("", _("Any")), ("1", _("Yes")), ("0", _("No"))]

DEFAULTS = {
    "rows": "cases",
    "measure": "excerpts",
    "display": "count",
    "subcodes": "rollup",
    "mode": "excerpt",
}


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

    def expression(self) -> Any:
        """The row key of a coding (needs ``with_speaker()`` when ``by_speaker``)."""
        if self.kind == "cases":
            return F("content_object__transcript__case_id")
        if self.kind == "kind":
            return F("content_object__transcript__case__kind")
        if self.kind == "level":
            return Subquery(Informant.objects.filter(pk=OuterRef("speaker_id")).values("level")[:1])
        d = self.definition
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
            d = self.definition
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
            k = self.definition.kind
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
        if value is None:
            return qs.filter(_row_key__isnull=True)
        return qs.filter(_row_key=value)


# --- columns --------------------------------------------------------------------------------


@dataclass
class CodeTree:
    """The project's codes in tree order (one query), with the sub-code relation in memory."""

    codes: list[Code]

    def __post_init__(self) -> None:
        self.by_id = {c.pk: c for c in self.codes}
        self.children: dict[int | None, list[int]] = {}
        for c in self.codes:
            self.children.setdefault(c.parent_id, []).append(c.pk)

    @classmethod
    def of(cls, project: Project) -> CodeTree:
        return cls(Code.objects.filter(codebook__project=project).in_tree_order())

    def subtree(self, code_id: int) -> set[int]:
        """The code and every code below it."""
        out, stack = set(), [code_id]
        while stack:
            pk = stack.pop()
            if pk not in out:
                out.add(pk)
                stack.extend(self.children.get(pk, []))
        return out

    def ancestors(self, code_id: int) -> list[int]:
        out = []
        parent = self.by_id[code_id].parent_id
        while parent is not None and parent in self.by_id:
            out.append(parent)
            parent = self.by_id[parent].parent_id
        return out

    def default_columns(self) -> list[Code]:
        """The first group of the codebook (the six factors), else the top-level codes."""
        for root in self.children.get(None, []):
            if self.children.get(root):
                return [self.by_id[pk] for pk in self.children[root]]
        return [self.by_id[pk] for pk in self.children.get(None, [])]


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


# --- the form -------------------------------------------------------------------------------


class AnalysisFilterForm(forms.Form):
    """Rows, measure and filters of a matrix. Bind it with request.GET (or any dict)."""

    rows = forms.ChoiceField(label=_("Rows"))
    measure = forms.ChoiceField(label=_("Measure"), choices=MEASURE_CHOICES)
    display = forms.ChoiceField(label=_("Show"), choices=DISPLAY_CHOICES)
    bins = forms.ChoiceField(
        label=_("Numbers as rows"),
        choices=BIN_CHOICES,
        required=False,
        help_text=_("For a number attribute (population, …): a row per value or per range."),
    )
    bin_limits = forms.CharField(
        label=_("Range limits"),
        required=False,
        max_length=200,
        help_text=_("Where each range starts, separated by spaces, e.g. 10000 50000."),
    )
    mode = forms.ChoiceField(label=_("Co-occurring when"), choices=COOCCURRENCE_CHOICES)
    codes = forms.MultipleChoiceField(
        label=_("Codes"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None chosen: the first group of the codebook."),
    )
    subcodes = forms.ChoiceField(
        label=_("Sub-codes"), choices=SUBCODE_CHOICES, widget=forms.RadioSelect
    )
    coders = forms.MultipleChoiceField(
        label=_("Coders"), required=False, widget=forms.CheckboxSelectMultiple
    )
    levels = forms.MultipleChoiceField(
        label=_("Informant level"),
        choices=Level.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    kinds = forms.MultipleChoiceField(
        label=_("Case kind"),
        choices=CaseKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    cases = forms.MultipleChoiceField(
        label=_("Cases"), required=False, widget=forms.CheckboxSelectMultiple
    )
    tags = forms.MultipleChoiceField(
        label=_("Transcript tags"), required=False, widget=forms.CheckboxSelectMultiple
    )
    date_from = forms.DateField(
        label=_("Interviewed from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Interviewed until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    key_quotes = forms.BooleanField(
        label=_("Key quotes only"),
        required=False,
        help_text=_("Only passages a researcher marked as a key quote for the code."),
    )

    # Fields that choose what is shown, not which codings count.
    VIEW_FIELDS = ("rows", "bins", "bin_limits", "measure", "display", "mode")

    def __init__(self, data: Mapping[str, Any] | None, *, project: Project, **kwargs) -> None:
        super().__init__(with_defaults(data), **kwargs)
        self.project = project
        self.tree = CodeTree.of(project)
        self.case_list = list(Case.objects.filter(project=project).order_by("kind", "order"))
        self.cases_by_id = {c.pk: c for c in self.case_list}
        self.definitions = list(
            AttributeDefinition.objects.filter(project=project).order_by("target", "order", "name")
        )
        User = get_user_model()
        coded = Coding.objects.filter(coder_id=OuterRef("pk"), tag__codebook__project=project)
        self.coder_list = list(
            User.objects.filter(
                Q(memberships__project=project, memberships__role__in=WRITE_ROLES) | Exists(coded)
            )
            .distinct()
            .order_by("username")
        )
        self.fields["codes"].choices = [
            (str(c.pk), "\u2003" * c.depth + c.name) for c in self.tree.codes
        ]
        self.fields["coders"].choices = [
            (str(u.pk), u.get_full_name() or u.username) for u in self.coder_list
        ]
        self.fields["cases"].choices = [(str(c.pk), c.name) for c in self.case_list]
        self.fields["tags"].choices = [(t, t) for t in transcript_tags(project)]
        self.fields["rows"].choices = self.row_choices()
        self.attribute_fields: list[tuple[AttributeDefinition, list[str]]] = []
        self._add_attribute_fields()

    # -- fields made from the data --

    def row_choices(self) -> list[tuple[str, str]]:
        choices = [
            ("cases", gettext("Cases (grouped by kind)")),
            ("kind", gettext("Case kind")),
            ("level", gettext("Informant level")),
        ]
        for d in self.definitions:
            prefix = "case" if d.target == AttributeTarget.CASE else "informant"
            owner = gettext("case") if prefix == "case" else gettext("informant")
            choices.append((f"{prefix}:{d.pk}", f"{d.name} ({owner})"))
        return choices

    def _add_attribute_fields(self) -> None:
        text_values: dict[int, set[str]] = {}
        text_ids = [d.pk for d in self.definitions if d.kind == AttributeKind.TEXT]
        if text_ids:
            rows = (
                AttributeValue.objects.filter(definition__project=self.project)
                .filter(definition__kind=AttributeKind.TEXT)
                .exclude(value_text="")
                .values_list("definition_id", "value_text")
                .distinct()
            )
            for def_id, value in rows:
                text_values.setdefault(def_id, set()).add(value)
        for d in self.definitions:
            name = f"attr_{d.pk}"
            label = d.name
            if d.kind == AttributeKind.TEXT:
                values = sorted(text_values.get(d.pk, ()))
                if not values:
                    continue
                self.fields[name] = forms.MultipleChoiceField(
                    label=label,
                    choices=[(v, v) for v in values],
                    required=False,
                    widget=forms.CheckboxSelectMultiple,
                )
                names = [name]
            elif d.kind == AttributeKind.BOOLEAN:
                self.fields[name] = forms.ChoiceField(
                    label=label, choices=BOOLEAN_CHOICES, required=False
                )
                names = [name]
            else:
                field_cls, attrs = {
                    AttributeKind.INTEGER: (forms.IntegerField, {}),
                    AttributeKind.DECIMAL: (forms.DecimalField, {"step": "any"}),
                    AttributeKind.DATE: (forms.DateField, {"type": "date"}),
                }[d.kind]
                widget = forms.DateInput if d.kind == AttributeKind.DATE else forms.NumberInput
                self.fields[f"{name}_min"] = field_cls(
                    label=gettext("%(name)s from") % {"name": label},
                    required=False,
                    widget=widget(attrs={**attrs, "placeholder": gettext("from")}),
                )
                self.fields[f"{name}_max"] = field_cls(
                    label=gettext("%(name)s to") % {"name": label},
                    required=False,
                    widget=widget(attrs={**attrs, "placeholder": gettext("to")}),
                )
                names = [f"{name}_min", f"{name}_max"]
            self.attribute_fields.append((d, names))

    def attribute_groups(self) -> list[tuple[str, bool, list[tuple[str, list]]]]:
        """For the template: (heading, in use, [(attribute name, its bound fields)]) for the
        case attributes and the informant attributes."""
        out = []
        for target, heading in (
            (AttributeTarget.CASE, gettext("Case attributes")),
            (AttributeTarget.INFORMANT, gettext("Informant attributes")),
        ):
            rows = [
                (d.name, [self[n] for n in names])
                for d, names in self.attribute_fields
                if d.target == target
            ]
            if rows:
                in_use = any(f.value() not in (None, "", []) for _n, fs in rows for f in fs)
                out.append((heading, in_use, rows))
        return out

    # -- validation --

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end date lies before the start date."))
        for _definition, names in self.attribute_fields:
            if len(names) == 2:
                lo, hi = data.get(names[0]), data.get(names[1])
                if lo is not None and hi is not None and lo > hi:
                    self.add_error(names[1], _("The upper bound lies below the lower bound."))
        rows = data.get("rows")
        if data.get("bins") == "limits" and not _limits(data.get("bin_limits", "")):
            self.add_error(
                "bin_limits", _("Give one or more numbers, separated by spaces, e.g. 10000 50000.")
            )
        if rows and data.get("measure") == "share" and self.row_spec_for(rows).by_speaker:
            self.add_error(
                "measure",
                _(
                    "The share of text coded needs rows made of whole cases "
                    "(cases, case kind or a case attribute)."
                ),
            )
        return data

    # -- what the form selects --

    def row_spec_for(self, value: str) -> RowSpec:
        labels = dict(self.fields["rows"].choices)
        if value in ("cases", "kind", "level"):
            return RowSpec(value, labels[value])
        prefix, _sep, pk = value.partition(":")
        d = next((d for d in self.definitions if str(d.pk) == pk), None)
        if d is None:
            raise ValidationError(_("Unknown rows."), code="bad_rows")
        return RowSpec(f"{prefix}_attr", labels[value], d, self._edges(d))

    def _edges(self, d: AttributeDefinition) -> tuple[Decimal, ...] | None:
        """The range limits the form asks for, for a number attribute (else None)."""
        if d.kind not in (AttributeKind.INTEGER, AttributeKind.DECIMAL):
            return None
        data = getattr(self, "cleaned_data", {})
        how = data.get("bins")
        if how == "limits":
            return _limits(data.get("bin_limits", "")) or None
        if how == "quartiles":
            values = sorted(
                Decimal(v)
                for v in AttributeValue.objects.filter(definition=d)
                .exclude(**{f"value_{d.kind}": None})
                .values_list(f"value_{d.kind}", flat=True)
            )
            if not values:
                return None
            cuts = {values[len(values) * q // QUARTILES] for q in range(1, QUARTILES)}
            return tuple(sorted(c for c in cuts if c > values[0])) or None
        return None

    @property
    def cell_display(self) -> str:
        """How the cells show the measure: "count", "row", "col", or "share" for the share
        measure, which is a percentage of each row's text whatever the display field says."""
        d = self.cleaned_data
        return "share" if d["measure"] == "share" else d["display"]

    @property
    def row_spec(self) -> RowSpec:
        return self.row_spec_for(self.cleaned_data["rows"])

    @property
    def columns(self) -> ColumnSpec:
        ids = [int(pk) for pk in self.cleaned_data.get("codes") or []]
        codes = [c for c in self.tree.codes if c.pk in set(ids)] or self.tree.default_columns()
        return ColumnSpec(codes, self.cleaned_data["subcodes"] == "rollup", self.tree)

    @cached_property
    def selected_cases(self) -> list[Case]:
        """The cases the case filters keep (kind, cases, case attributes), in display order."""
        kept = set(
            Case.objects.filter(project=self.project)
            .filter(self.case_q())
            .values_list("pk", flat=True)
        )
        return [c for c in self.case_list if c.pk in kept]

    def case_q(self, prefix: str = "") -> Q:
        """The filters that concern cases, over ``prefix`` + Case."""
        d = self.cleaned_data
        p = prefix
        q = Q()
        if d.get("kinds"):
            q &= Q(**{f"{p}kind__in": d["kinds"]})
        if d.get("cases"):
            q &= Q(**{f"{p}pk__in": [int(c) for c in d["cases"]]})
        for definition, names in self.attribute_fields:
            if definition.target != AttributeTarget.CASE:
                continue
            values = self._attribute_values(definition, names)
            if values is not None:
                q &= Q(**{f"{p}pk__in": values.values("case_id")})
        return q

    def transcript_q(self, prefix: str = "", *, project: bool = True) -> Q:
        """The filters that concern transcripts and their cases, over ``prefix`` + Transcript
        (``project=False`` leaves out the project, for a set already limited to it)."""
        d = self.cleaned_data
        p = prefix
        q = Q(**{f"{p}case__project": self.project}) if project else Q()
        q &= self.case_q(f"{p}case__")
        if d.get("tags"):
            tagged = Transcript.objects.filter(tags__name__in=d["tags"]).values("pk")
            q &= Q(**{f"{p}pk__in": tagged})
        if d.get("date_from"):
            q &= Q(**{f"{p}interview_date__gte": d["date_from"]})
        if d.get("date_to"):
            q &= Q(**{f"{p}interview_date__lte": d["date_to"]})
        return q

    def _attribute_values(
        self, definition: AttributeDefinition, names: list[str]
    ) -> QuerySet | None:
        """The AttributeValue rows the attribute's filter keeps, or None when it is unset."""
        d = self.cleaned_data
        column = f"value_{definition.kind}"
        values = AttributeValue.objects.filter(definition=definition)
        if definition.kind == AttributeKind.TEXT:
            chosen = d.get(names[0])
            return values.filter(value_text__in=chosen) if chosen else None
        if definition.kind == AttributeKind.BOOLEAN:
            chosen = d.get(names[0])
            return values.filter(value_boolean=chosen == "1") if chosen in ("0", "1") else None
        lo, hi = d.get(names[0]), d.get(names[1])
        if lo is None and hi is None:
            return None
        if lo is not None:
            values = values.filter(**{f"{column}__gte": lo})
        if hi is not None:
            values = values.filter(**{f"{column}__lte": hi})
        return values

    def needs_speaker(self) -> bool:
        d = self.cleaned_data
        informant_filters = any(
            self._attribute_values(defn, names) is not None
            for defn, names in self.attribute_fields
            if defn.target == AttributeTarget.INFORMANT
        )
        return bool(
            d.get("levels")
            or informant_filters
            or d.get("measure") == "informants"
            or self.row_spec.by_speaker
        )

    def codings(self) -> CodingQuerySet:
        """The codings the filters select (all chosen columns), ready for matrix_counts."""
        d = self.cleaned_data
        # The chosen codes all belong to the project's codebook, so they limit the set to the
        # project (and spare the joins of Coding.objects.for_project).
        qs = Coding.objects.of_codes(self.columns.tag_ids()).filter(
            self.transcript_q("content_object__transcript__", project=False)
        )
        if d.get("coders"):
            qs = qs.filter(coder_id__in=[int(u) for u in d["coders"]])
        if d.get("key_quotes"):
            qs = qs.key_quotes()
        if self.needs_speaker():
            qs = qs.with_speaker()
        if d.get("levels"):
            qs = qs.filter(
                speaker_id__in=Informant.objects.filter(level__in=d["levels"]).values("pk")
            )
        for definition, names in self.attribute_fields:
            if definition.target != AttributeTarget.INFORMANT:
                continue
            values = self._attribute_values(definition, names)
            if values is not None:
                qs = qs.filter(speaker_id__in=values.values("informant_id"))
        return qs

    def cell(self, row_key: str, col_key: str) -> CodingQuerySet:
        """The codings one matrix cell counts (``TOTAL`` for a row's or a column's total)."""
        qs = self.codings()
        if row_key != TOTAL:
            qs = self.row_spec.filter_key(qs, row_key)
        if col_key != TOTAL:
            try:
                col = int(col_key)
            except ValueError as exc:
                raise ValidationError(
                    _("The column of this cell is not valid."), "bad_col"
                ) from exc
            if col not in {c.pk for c in self.columns.codes}:
                raise ValidationError(_("The column of this cell is not valid."), "bad_col")
            qs = qs.of_codes(self.columns.members(col))
        return qs

    def cooccurrence_cell(self, row_key: str, col_key: str) -> CodingQuerySet:
        """The codings one co-occurrence cell counts: the row code's codings on the excerpts
        that co-occur (``mode``) with the column code. Both keys are chosen code ids."""
        chosen = {c.pk for c in self.columns.codes}
        try:
            a, b = int(row_key), int(col_key)
        except ValueError as exc:
            raise ValidationError(_("The cell is not valid."), code="bad_cell") from exc
        if a not in chosen or b not in chosen:
            raise ValidationError(_("The cell is not valid."), code="bad_cell")
        return self.codings().cooccurrence_cell(
            self.cleaned_data["mode"], self.columns.layers(), a, b
        )

    # -- what the filters were, for the page and for exported files --

    def describe(
        self, view: Iterable[str] = ("rows", "measure", "display")
    ) -> list[tuple[str, str]]:
        """(label, value) for the ``view`` fields and every filter in use, readable by people."""
        d = self.cleaned_data
        shown = {
            "rows": lambda: self.row_spec.label,
            "measure": lambda: str(dict(MEASURE_CHOICES)[d["measure"]]),
            "display": lambda: str(dict(DISPLAY_CHOICES + SHARE_DISPLAY)[self.cell_display]),
            "mode": lambda: str(dict(COOCCURRENCE_CHOICES)[d["mode"]]),
        }
        out = [(str(self.fields[name].label), shown[name]()) for name in view]
        spec = self.row_spec if "rows" in view else None
        if spec is not None and spec.edges is not None:
            ranges = [spec.range_label(i) for i in range(len(spec.edges) + 1)]
            out.append((str(self.fields["bins"].label), "; ".join(ranges)))
        cols = self.columns
        default = not d.get("codes")
        codes = ", ".join(c.name for c in cols.codes)
        if default:
            codes = gettext("%(codes)s (the default)") % {"codes": codes}
        out.append((gettext("Codes"), codes))
        out.append((gettext("Sub-codes"), str(dict(SUBCODE_CHOICES)[d["subcodes"]])))

        def names(field: str, chosen: Iterable[str]) -> str:
            labels = dict(self.fields[field].choices)
            return ", ".join(str(labels.get(v, v)).strip() for v in chosen)

        for field in ("coders", "levels", "kinds", "cases", "tags"):
            if d.get(field):
                out.append((str(self.fields[field].label), names(field, d[field])))
        if d.get("key_quotes"):
            out.append((gettext("Key quotes"), gettext("only key quotes")))
        if d.get("date_from") or d.get("date_to"):
            out.append(
                (
                    gettext("Interview dates"),
                    f"{d.get('date_from') or '…'} – {d.get('date_to') or '…'}",
                )
            )
        for definition, field_names in self.attribute_fields:
            if self._attribute_values(definition, field_names) is None:
                continue
            if definition.kind == AttributeKind.TEXT:
                value = ", ".join(d[field_names[0]])
            elif definition.kind == AttributeKind.BOOLEAN:
                value = gettext("Yes") if d[field_names[0]] == "1" else gettext("No")
            else:
                lo, hi = d.get(field_names[0]), d.get(field_names[1])
                value = f"{'' if lo is None else lo} – {'' if hi is None else hi}"
            out.append((definition.name, value))
        return out

    def query_string(self, **extra: str) -> str:
        """The form's data as a query string (for links to cells and exports)."""
        q = QueryDict(mutable=True)
        for name in self.fields:
            if name not in self.data:
                continue
            values = (
                self.data.getlist(name)
                if hasattr(self.data, "getlist")
                else _as_list(self.data[name])
            )
            q.setlist(name, [v for v in values if v not in (None, "")])
        for k, v in extra.items():
            q[k] = v
        return q.urlencode()


def _limits(raw: str) -> tuple[Decimal, ...]:
    """Range limits typed by a person: numbers apart by spaces or semicolons, a decimal comma
    or point, thousands maybe spaced ("10 000" reads as two limits, so write 10000)."""
    out = set()
    for part in raw.replace(";", " ").split():
        try:
            out.add(Decimal(part.replace(",", ".")))
        except InvalidOperation:
            return ()
    return tuple(sorted(out))


def _as_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def with_defaults(data: Mapping[str, Any] | None) -> QueryDict:
    """The submitted data with the view fields that were left out at their defaults."""
    q = QueryDict(mutable=True)
    if data is not None:
        if hasattr(data, "lists"):
            for k, values in data.lists():
                q.setlist(k, values)
        else:
            for k, v in data.items():
                q.setlist(k, _as_list(v))
    for k, v in DEFAULTS.items():
        if not q.get(k):
            q[k] = v
    return q


def transcript_tags(project: Project) -> list[str]:
    """Names of the tags on the project's transcripts (one query)."""
    transcripts = Transcript.objects.filter(case__project=project).values("pk")
    return list(
        Tag.objects.filter(
            taggit_taggeditem_items__content_type__app_label="coding",
            taggit_taggeditem_items__content_type__model="transcript",
            taggit_taggeditem_items__object_id__in=transcripts,
        )
        .values_list("name", flat=True)
        .distinct()
        .order_by("name")
    )


def bound_form(project: Project, data: Mapping[str, Any] | None) -> AnalysisFilterForm:
    """A valid form for ``data``, or ValidationError with the form's errors."""
    form = AnalysisFilterForm(data, project=project)
    if not form.is_valid():
        raise ValidationError(
            [f"{field}: {err}" for field, errs in form.errors.items() for err in errs],
            code="bad_filter",
        )
    return form


def filter_codings(project: Project, data: Mapping[str, Any] | None) -> CodingQuerySet:
    """The codings of ``project`` that the filters in ``data`` select (all chosen columns).

    The caller has checked that the user may read ``project`` (coding.access).
    """
    return bound_form(project, data).codings()


def cell_codings(
    project: Project, data: Mapping[str, Any] | None, row_key: str, col_key: str
) -> CodingQuerySet:
    """The codings of one matrix cell: ``row_key`` as in the matrix's cell links (or
    ``TOTAL``), ``col_key`` a column's code id (or ``TOTAL``)."""
    return bound_form(project, data).cell(row_key, col_key)


def cooccurrence_cell_codings(
    project: Project, data: Mapping[str, Any] | None, row_key: str, col_key: str
) -> CodingQuerySet:
    """The codings of one co-occurrence cell (``mode`` in ``data``; keys are code ids)."""
    return bound_form(project, data).cooccurrence_cell(row_key, col_key)
