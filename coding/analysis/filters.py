"""The filter form of the analysis pages: what was asked for, read and checked.

One form, ``AnalysisFilterForm``, holds everything a matrix is built from: what the rows are,
which measure the cells show, and the filters (coder, informant level, transcript tags and
dates, case kind, cases, case and informant attributes, the codes and whether sub-codes roll up
into their parent). The attributes are data (AttributeDefinition / AttributeValue), so their
fields are made per project. Which codings the filters select is ``analysis.selection``; the
rows and columns are ``analysis.specs``. The fields the lemma search shares with the matrices
(informant level, cases) are declared here once (``level_field``, ``cases_field``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import QueryDict
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from taggit.models import Tag

from coding.analysis.specs import CodeTree, ColumnSpec, RowSpec
from coding.models import (
    WRITE_ROLES,
    AttributeDefinition,
    AttributeKind,
    AttributeTarget,
    AttributeValue,
    Case,
    CaseKind,
    Coding,
    Level,
    Membership,
    Project,
    Transcript,
    blind_transcripts,
)
from coding.people import display_name


def choice_field(form: forms.BaseForm, name: str) -> forms.ChoiceField:
    """``form.fields[name]``, a choice field (the stubs type ``fields`` as plain Field)."""
    return cast(forms.ChoiceField, form.fields[name])


def choice_labels(form: forms.BaseForm, name: str) -> dict[str, Any]:
    """{value: label} of a choice field whose choices are flat (value, label) pairs."""
    return dict(cast(Iterable[tuple[str, Any]], choice_field(form, name).choices))


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
# The coder basis: whose codings count, and whether a passage coded by several coders counts
# once (analysis.selection applies it; the matrices merge the passages). One coder is
# "coder:<user id>", a choice the form adds per project.
BASIS_DEFAULT = "default"
BASIS_CONSENSUS = "consensus"
BASIS_MERGED = "merged"
BASIS_SUM = "sum"
BASIS_CODER = "coder:"
BASIS_CHOICES = [
    (BASIS_DEFAULT, _("Consensus where a transcript has one, otherwise all coders merged")),
    (BASIS_CONSENSUS, _("Consensus only")),
    (BASIS_MERGED, _("All coders, overlapping passages of the same code merged")),
    (BASIS_SUM, _("Sum of the coders' codings (workload only)")),
]
BASIS_HELP = _(
    "Merged: where coders' passages of the same code overlap, their union counts as one "
    "passage (its words counted once). Consensus: the version settled from the coders' "
    "codings. The default takes each transcript's consensus where it has one, otherwise "
    "merges all coders. The sum counts each coder's coding, for workload figures."
)

DEFAULTS = {
    "rows": "cases",
    "measure": "excerpts",
    "display": "count",
    "subcodes": "rollup",
    "mode": "excerpt",
    "basis": BASIS_DEFAULT,
}


# --- fields the lemma search shares -------------------------------------------------------


def level_field() -> forms.MultipleChoiceField:
    """The informant level filter (who speaks: ``analysis.selection``)."""
    return forms.MultipleChoiceField(
        label=_("Informant level"),
        choices=Level.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


def cases_field() -> forms.MultipleChoiceField:
    """The cases filter; the form sets its choices (case ids) per project."""
    return forms.MultipleChoiceField(
        label=_("Cases"), required=False, widget=forms.CheckboxSelectMultiple
    )


def project_coders(project: Project) -> QuerySet[User]:
    """The coders of a project: members who may code, and anyone who coded there (a former
    member's codings still count)."""
    coded = Coding.objects.coder_layer().filter(
        coder_id=OuterRef("pk"), tag__codebook__project=project
    )
    return (
        get_user_model()
        .objects.filter(
            Q(memberships__project=project, memberships__role__in=WRITE_ROLES) | Exists(coded)
        )
        .distinct()
    )


def coder_choices(project: Project, viewer: Membership | None) -> QuerySet[User]:
    """The coders a member may choose between (the coder filters and bases, the agreement
    form): the project's coders, but a researcher coding blind (``blind_transcripts``) is not
    shown the others' names, only themselves; supervisors and owners see everyone."""
    coders = project_coders(project)
    if viewer is not None and blind_transcripts(viewer) is not None:
        return coders.filter(pk=viewer.user_id)
    return coders


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
    basis = forms.ChoiceField(label=_("Coder basis"), help_text=BASIS_HELP)
    coders = forms.MultipleChoiceField(
        label=_("Coders"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Limits the coders' own codings; the consensus is kept."),
    )
    levels = level_field()
    kinds = forms.MultipleChoiceField(
        label=_("Case kind"),
        choices=CaseKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    cases = cases_field()
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

    # The member the selection is for (blind coding): see analysis.selection.viewer_of.
    viewer: Membership | None = None

    # Fields that choose what is shown, not which codings count.
    VIEW_FIELDS = ("rows", "bins", "bin_limits", "measure", "display", "mode")

    def __init__(
        self,
        data: Mapping[str, Any] | None,
        *,
        project: Project,
        viewer: Membership | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(with_defaults(data), **kwargs)
        self.project = project
        if viewer is not None:
            self.viewer = viewer
        self.tree = CodeTree.of(project)
        self.case_list = list(Case.objects.filter(project=project).order_by("kind", "order"))
        self.cases_by_id = {c.pk: c for c in self.case_list}
        self.definitions = list(
            AttributeDefinition.objects.filter(project=project).order_by("target", "order", "name")
        )
        # Whose eyes (analysis.selection.viewer_of): the viewer given, else the member
        # coding.access put on the project.
        looking = self.viewer or getattr(project, "membership", None)
        self.coder_list = list(coder_choices(project, looking).order_by("username"))
        choice_field(self, "codes").choices = [
            (str(c.pk), "\u2003" * c.depth + c.name) for c in self.tree.codes
        ]
        choice_field(self, "coders").choices = [
            (str(u.pk), display_name(u)) for u in self.coder_list
        ]
        choice_field(self, "basis").choices = [
            *BASIS_CHOICES,
            *(
                (f"{BASIS_CODER}{u.pk}", gettext("Only %(coder)s") % {"coder": display_name(u)})
                for u in self.coder_list
            ),
        ]
        choice_field(self, "cases").choices = [(str(c.pk), c.name) for c in self.case_list]
        choice_field(self, "tags").choices = [(t, t) for t in transcript_tags(project)]
        choice_field(self, "rows").choices = self.row_choices()
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
                numeric: dict[str, tuple[type[forms.Field], dict[str, str]]] = {
                    AttributeKind.INTEGER: (forms.IntegerField, {}),
                    AttributeKind.DECIMAL: (forms.DecimalField, {"step": "any"}),
                    AttributeKind.DATE: (forms.DateField, {"type": "date"}),
                }
                field_cls, attrs = numeric[d.kind]
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

    def attribute_groups(self) -> list[tuple[str, bool, list[tuple[str, list[forms.BoundField]]]]]:
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
        if data is None:  # the stubs allow it; Form.clean returns cleaned_data
            data = self.cleaned_data
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
        labels = choice_labels(self, "rows")
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
    def coder_basis(self) -> str:
        """The ``basis`` field's value (a property named ``basis`` would hide the field)."""
        return str(self.cleaned_data["basis"])

    @property
    def merged(self) -> bool:
        """Whether overlapping passages of the same code count once (every basis but the sum:
        a consensus or one coder's version holding two overlapping passages of a code counts
        their union once too)."""
        return self.coder_basis != BASIS_SUM

    @property
    def counts_consensus(self) -> bool:
        """Whether the basis counts consensus codings (``selection.basis_q``): the consensus,
        and the default in the transcripts that have one."""
        return self.coder_basis in (BASIS_CONSENSUS, BASIS_DEFAULT)

    @property
    def basis_coder_id(self) -> int | None:
        """The coder of a one-coder basis, else None."""
        if self.coder_basis.startswith(BASIS_CODER):
            return int(self.coder_basis[len(BASIS_CODER) :])
        return None

    @property
    def basis_label(self) -> str:
        """The basis as the page and every export file state it."""
        return str(choice_labels(self, "basis")[self.coder_basis])

    @property
    def row_spec(self) -> RowSpec:
        return self.row_spec_for(self.cleaned_data["rows"])

    @property
    def columns(self) -> ColumnSpec:
        ids = [int(pk) for pk in self.cleaned_data.get("codes") or []]
        codes = [c for c in self.tree.codes if c.pk in set(ids)] or self.tree.default_columns()
        return ColumnSpec(codes, self.cleaned_data["subcodes"] == "rollup", self.tree)

    def attribute_in_use(self, definition: AttributeDefinition, names: list[str]) -> bool:
        """Whether the attribute's filter fields ask for anything (the form is valid)."""
        d = self.cleaned_data
        if definition.kind == AttributeKind.TEXT:
            return bool(d.get(names[0]))
        if definition.kind == AttributeKind.BOOLEAN:
            return d.get(names[0]) in ("0", "1")
        return d.get(names[0]) is not None or d.get(names[1]) is not None

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
        out.append((str(self.fields["basis"].label), self.basis_label))

        def names(field: str, chosen: Iterable[str]) -> str:
            labels = choice_labels(self, field)
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
            if not self.attribute_in_use(definition, field_names):
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
