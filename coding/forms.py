from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from coding.importers import MAX_HEADER_LINES, Paragraph, guess_interviewer
from coding.models import (
    WRITE_ROLES,
    AttributeDefinition,
    AttributeKind,
    BlindMode,
    Case,
    Code,
    Informant,
    Memo,
    MemoType,
    Mode,
    Project,
    Role,
    Transcript,
    field_limit,
)
from coding.people import display_name

if TYPE_CHECKING:
    from django.forms.boundfield import BoundField


class ImportUploadForm(forms.Form):
    case = forms.ModelChoiceField(queryset=Case.objects.none(), label=_("Case"))
    file = forms.FileField(
        label=_("Transcript file"),
        required=False,
        help_text=_(".docx, .odt or .txt (UTF-8 or Windows-1252)"),
    )
    pasted = forms.CharField(
        label=_("…or paste the text"), required=False, widget=forms.Textarea(attrs={"rows": 6})
    )
    title = forms.CharField(label=_("Title"), max_length=300, required=False)

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["case"]).queryset = project.cases.all()

    def clean(self) -> dict[str, Any]:
        data = cast(dict[str, Any], super().clean())  # Form.clean returns cleaned_data
        if not data.get("file") and not (data.get("pasted") or "").strip():
            raise ValidationError(_("Choose a file or paste the text."), code="no_input")
        if data.get("file") and (data.get("pasted") or "").strip():
            raise ValidationError(_("Give a file or pasted text, not both."), code="both")
        return data


MAX_SPEAKER_LABELS = 60
INFORMANT_LABEL_RE = re.compile(
    r"^(ip|informant|respondent|deltaker|r|b)\s*(?P<n>\d*)$", re.IGNORECASE
)
SPEAKER_NONE = "none"
SPEAKER_INTERVIEWER = "interviewer"


class ImportPreviewForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=300)
    interview_date = forms.DateField(
        label=_("Interview date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    mode = forms.ChoiceField(label=_("Mode"), choices=[("", "—"), *Mode.choices], required=False)
    interviewers = forms.CharField(label=_("Interviewer(s)"), max_length=300, required=False)
    informants = forms.ModelMultipleChoiceField(
        queryset=Informant.objects.none(),
        required=False,
        label=_("Informants interviewed"),
        widget=forms.CheckboxSelectMultiple,
    )
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Separate with commas"))
    # How many of the first lines are the header (not interview text): 0 for none.
    header_lines = forms.TypedChoiceField(
        label=_("Header"),
        coerce=int,
        choices=[(0, "")],
        initial=0,
        required=False,
        empty_value=None,
        widget=forms.RadioSelect,
    )

    def __init__(
        self,
        *args: Any,
        case: Case,
        labels: list[tuple[str, int]],
        question_shares: dict[str, float] | None = None,
        paragraphs: list[Paragraph] | None = None,
        header_lines: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # The header ends after one of the first lines, and one line at least stays text.
        self.preview_lines = list((paragraphs or [])[:MAX_HEADER_LINES])
        last = min(len(self.preview_lines), len(paragraphs or []) - 1)
        header_field = cast(forms.TypedChoiceField, self.fields["header_lines"])
        header_field.choices = [(n, str(n)) for n in range(max(0, last) + 1)]
        header_field.initial = min(header_lines, max(0, last))
        informants = list(case.informants.all())
        informant_field = cast(forms.ModelMultipleChoiceField, self.fields["informants"])
        informant_field.queryset = case.informants.all()
        choices = [
            (SPEAKER_INTERVIEWER, _("Interviewer")),
            *[(f"informant:{i.pk}", str(i)) for i in informants],
            (SPEAKER_NONE, _("Not a speaker (keep as text)")),
        ]
        self.label_fields: list[tuple[str, str, int]] = []
        # Beyond MAX_SPEAKER_LABELS the rarest labels stay text: a focus group has a few dozen
        # speakers, and every label is a form field (Django refuses over 1,000 of them).
        self.labels_left_as_text = max(0, len(labels) - MAX_SPEAKER_LABELS)
        for n, (label, count) in enumerate(labels[:MAX_SPEAKER_LABELS]):
            key = f"speaker_{n}"
            self.fields[key] = forms.ChoiceField(
                label=label,
                choices=choices,
                initial=self._guess(label, informants, (question_shares or {}).get(label, 0.0)),
            )
            self.label_fields.append((key, label, count))

    @staticmethod
    def _guess(label: str, informants: list[Informant], question_share: float) -> str:
        """A name or role that matches an informant wins; then the interviewer by name or by
        asking most of the questions; then the case's only informant."""
        low = label.lower()
        for i in informants:
            names = {i.pseudonym.lower(), *i.pseudonym.lower().split()}
            if low in names or (len(low) > 3 and low in i.role_title.lower()):
                return f"informant:{i.pk}"
        if guess_interviewer(label, question_share) or not informants:
            return SPEAKER_INTERVIEWER
        if len(informants) == 1:
            return f"informant:{informants[0].pk}"
        shape = INFORMANT_LABEL_RE.match(label)
        if shape:
            # "IP", "IP2", "Informant 3": an informant, never "not a speaker" (that would merge
            # the answers into the questions). The number picks the case's n-th informant.
            n = int(shape.group("n") or 1)
            return f"informant:{informants[min(n, len(informants)) - 1].pk}"
        return SPEAKER_NONE

    def header_rows(self) -> list[tuple[Paragraph, Any, bool]]:
        """(paragraph, its "the header ends here" radio or None, whether it is header now)
        per preview line: the radio of value n ends the header after the n-th line."""
        radios = {int(r.data["value"]): r for r in self["header_lines"]}
        value = self["header_lines"].value()
        try:
            chosen = int(value) if value not in (None, "") else 0
        except (TypeError, ValueError):
            chosen = 0
        return [(p, radios.get(n + 1), n < chosen) for n, p in enumerate(self.preview_lines)]

    def no_header_radio(self) -> Any:
        return next(r for r in self["header_lines"] if int(r.data["value"]) == 0)

    def speaker_rows(self) -> list[tuple[BoundField, str, int]]:
        """(bound field, label, turns) per label, for the template (one pass, no lookup)."""
        return [(self[key], label, count) for key, label, count in self.label_fields]

    def speaker_mapping(self) -> dict[str, dict[str, Any]]:
        mapping: dict[str, dict[str, Any]] = {}
        for key, label, _count in self.label_fields:
            value = self.cleaned_data[key]
            if value.startswith("informant:"):
                mapping[label] = {"kind": "informant", "informant_id": int(value.split(":")[1])}
            else:
                mapping[label] = {"kind": value}
        return mapping

    def metadata(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "title": d["title"],
            "interview_date": d["interview_date"].isoformat() if d["interview_date"] else None,
            "mode": d["mode"],
            "interviewers": d["interviewers"],
            "informant_ids": [i.pk for i in d["informants"]],
            "tags": [t.strip() for t in d["tags"].split(",") if t.strip()],
            # Not posted (a form without the choice): what the preview proposed.
            "header_lines": self.fields["header_lines"].initial
            if d.get("header_lines") is None
            else d["header_lines"],
        }


class CodeForm(forms.Form):
    """A code's fields for the codebook editor; the services check names and shortcuts. Limits
    come from the model's fields (rendered as ``maxlength``, so the page needs no copy)."""

    name = forms.CharField(label=_("Name"), max_length=field_limit(Code, "name"))
    color = forms.CharField(
        label=_("Colour"),
        max_length=field_limit(Code, "color"),
        widget=forms.TextInput(attrs={"type": "color"}),
    )
    parent = forms.TypedChoiceField(
        label=_("Place under"), coerce=int, empty_value=None, required=False
    )
    short_name = forms.CharField(
        label=_("Short name"),
        max_length=field_limit(Code, "short_name"),
        required=False,
        help_text=_("Shown where space is tight, such as matrix headers."),
    )
    shortcut = forms.CharField(
        label=_("Keyboard shortcut"),
        required=False,
        help_text=_("One letter or digit, unique in the codebook."),
        widget=forms.TextInput(
            attrs={
                "size": 2,
                "maxlength": field_limit(Code, "shortcut"),
                "autocomplete": "off",
                "class": "shortcut",
            }
        ),
    )
    definition = forms.CharField(
        label=_("Definition"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    inclusion = forms.CharField(
        label=_("When to use"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    exclusion = forms.CharField(
        label=_("When not to use"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    example = forms.CharField(
        label=_("Example"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    keywords = forms.CharField(
        label=_("Keywords"),
        required=False,
        help_text=_("One word or phrase per line; used to suggest passages for this code."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    TEXT_FIELDS = (
        "name",
        "color",
        "short_name",
        "shortcut",
        "definition",
        "inclusion",
        "exclusion",
        "example",
        "keywords",
    )

    def __init__(
        self,
        *args: Any,
        tree: list[Code],
        exclude: frozenset[int] = frozenset(),
        **kwargs: Any,
    ) -> None:
        """``tree``: the codebook's codes in tree order (with ``depth``); ``exclude``: codes
        that may not become the parent (the code itself and its sub-codes)."""
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["parent"]).choices = [
            ("", _("— top level —")),
            *[(c.pk, "\u2003" * c.depth + c.name) for c in tree if c.pk not in exclude],
        ]

    def code_fields(self) -> dict[str, str]:
        return {k: self.cleaned_data[k] for k in self.TEXT_FIELDS}


class MemoForm(forms.Form):
    """A memo's title, text and (when the project has memo types) its type. Text and title refuse
    NUL characters here too (Django's CharField), as ``services.memo_save`` does."""

    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    text = forms.CharField(label=_("Memo"), widget=forms.Textarea(attrs={"rows": 4}))
    memo_type = forms.ModelChoiceField(
        queryset=MemoType.objects.none(), label=_("Type"), required=False, empty_label="—"
    )

    def __init__(self, *args: Any, project: Project | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        types = MemoType.objects.filter(project=project) if project is not None else None
        if types is None or not types.exists():
            del self.fields["memo_type"]
        else:
            cast(forms.ModelChoiceField, self.fields["memo_type"]).queryset = types


class MemberAddForm(forms.Form):
    """Add an existing account, or create one for a new colleague (``new_account``)."""

    username = forms.CharField(label=_("User name"), max_length=150)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.RESEARCHER)
    new_account = forms.BooleanField(
        label=_("Create a new account with this user name"),
        required=False,
        help_text=_("You get a one-time link for them to choose a password."),
    )
    full_name = forms.CharField(label=_("Full name"), max_length=300, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class FrameworkSummaryForm(forms.Form):
    """A framework matrix cell's summary; ``version`` is the one the author started from."""

    text = forms.CharField(
        label=_("Summary"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=_("What this case shows for this factor, in your words."),
    )
    version = forms.IntegerField(min_value=0, widget=forms.HiddenInput)


class MemoFilterForm(forms.Form):
    """The memo overview's filters and search (GET); every field optional."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        help_text=_(
            "Every form of a word: “bolig” also finds “boligene”; “bolig*” words so begun."
        ),
    )
    author = forms.TypedChoiceField(label=_("Author"), required=False, coerce=int, empty_value=None)
    kind = forms.ChoiceField(label=_("On"), required=False)
    type = forms.TypedChoiceField(label=_("Type"), required=False, coerce=int, empty_value=None)
    case = forms.TypedChoiceField(label=_("Case"), required=False, coerce=int, empty_value=None)
    code = forms.TypedChoiceField(label=_("Code"), required=False, coerce=int, empty_value=None)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    KIND_LABELS = {
        "excerpt": _("Passage"),
        "transcript": _("Transcript"),
        "case": _("Case"),
        "code": _("Code"),
        "project": _("Project"),
    }

    def __init__(self, data: Mapping[str, Any] | None, *, project: Project, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        everyone = ("", _("Everyone"))
        # The authors of the memos the reader may see (blind coding hides some: the viewer is
        # the membership coding.access put on the project).
        seen = Memo.objects.filter(project=project).visible_to(getattr(project, "membership", None))
        authors = get_user_model().objects.filter(pk__in=seen.values("author_id"))
        choice = cast(dict[str, forms.ChoiceField], self.fields)  # the fields given choices below
        choice["author"].choices = [
            everyone,
            *((u.pk, display_name(u)) for u in authors.order_by("username")),
        ]
        choice["kind"].choices = [("", _("Anything")), *self.KIND_LABELS.items()]
        choice["type"].choices = [
            ("", _("Any type")),
            *project.memo_types.values_list("pk", "name"),
        ]
        choice["case"].choices = [
            ("", _("All cases")),
            *Case.objects.filter(project=project)
            .order_by("kind", "order")
            .values_list("pk", "name"),
        ]
        choice["code"].choices = [
            ("", _("All codes")),
            *(
                (c.pk, "\u2003" * c.depth + c.name)
                for c in Code.objects.filter(codebook__project=project).in_tree_order()
            ),
        ]


class _YesNoUnknown(forms.NullBooleanSelect):
    """Django's three-way select (it maps True/False/None to and from "true"/"false"/"unknown",
    so a saved value shows and posts back unchanged), with a dash for "not set"."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.choices = [("unknown", "—"), ("true", _("Yes")), ("false", _("No"))]


_FIELD_FOR_KIND: dict[str, Callable[[str], forms.Field]] = {
    AttributeKind.TEXT: lambda label: forms.CharField(label=label, required=False, max_length=500),
    AttributeKind.INTEGER: lambda label: forms.IntegerField(label=label, required=False),
    AttributeKind.DECIMAL: lambda label: forms.DecimalField(
        label=label, required=False, max_digits=20, decimal_places=6
    ),
    AttributeKind.BOOLEAN: lambda label: forms.NullBooleanField(
        label=label, required=False, widget=_YesNoUnknown()
    ),
    AttributeKind.DATE: lambda label: forms.DateField(
        label=label,
        required=False,
        # <input type=date> takes and gives ISO dates whatever the page's language.
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    ),
}


def _initial(value: object) -> object:
    """A stored value as its field shows it: decimals without the column's trailing zeros
    (20.000000 → 20, 1.250000 → 1.25; never exponent notation)."""
    if isinstance(value, Decimal):
        return Decimal(f"{value.normalize():f}")
    return value


if TYPE_CHECKING:
    _Form = forms.BaseForm  # the mixin's methods use the form it is mixed into
else:
    _Form = object


class AttributeValuesMixin(_Form):
    """Adds one typed field per attribute definition, named attr_<id>."""

    def add_attribute_fields(
        self, definitions: Iterable[AttributeDefinition], values: dict[int, object]
    ) -> None:
        self.attribute_definitions = list(definitions)
        for d in self.attribute_definitions:
            field = _FIELD_FOR_KIND[d.kind](d.name)
            field.initial = _initial(values.get(d.pk))
            self.fields[f"attr_{d.pk}"] = field

    def attribute_values(self) -> dict[int, object]:
        return {d.pk: self.cleaned_data.get(f"attr_{d.pk}") for d in self.attribute_definitions}

    def attribute_bound_fields(self) -> list[BoundField]:
        return [self[f"attr_{d.pk}"] for d in self.attribute_definitions]


class CaseForm(AttributeValuesMixin, forms.ModelForm):
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Separate with commas"))

    class Meta:
        model = Case
        fields = ["name", "kind", "description", "order"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        labels = {"order": _("Position in lists")}

    def __init__(
        self,
        *args: Any,
        definitions: Iterable[AttributeDefinition],
        values: dict[int, object],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["tags"].initial = ", ".join(sorted(self.instance.tags.names()))
        self.add_attribute_fields(definitions, values)

    def tag_list(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]


class InformantForm(AttributeValuesMixin, forms.ModelForm):
    class Meta:
        model = Informant
        fields = ["pseudonym", "role_title", "level", "org_unit"]
        help_texts = {"pseudonym": _("Never a real name.")}

    def __init__(
        self,
        *args: Any,
        definitions: Iterable[AttributeDefinition],
        values: dict[int, object],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.add_attribute_fields(definitions, values)


class AttributeDefinitionForm(forms.ModelForm):
    class Meta:
        model = AttributeDefinition
        fields = ["target", "name", "kind", "order"]
        labels = {"target": _("Applies to"), "order": _("Position in lists")}


class AssignmentForm(forms.Form):
    """Assign several transcripts to several coders at once ("double-code these with Kari and
    Per"). The choices are the project's transcripts and its members who may code."""

    transcripts = forms.ModelMultipleChoiceField(
        label=_("Transcripts"),
        queryset=Transcript.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    coders = forms.ModelMultipleChoiceField(
        label=_("Coders"),
        queryset=get_user_model().objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        transcripts = cast(forms.ModelMultipleChoiceField, self.fields["transcripts"])
        transcripts.queryset = (
            Transcript.objects.filter(case__project=project)
            .select_related("case")
            .defer("text")
            .order_by("case__kind", "case__order", "case__name", "interview_date", "title")
        )
        transcripts.label_from_instance = lambda t: f"{t.case.name}: {t.title}"  # type: ignore[method-assign, assignment]
        coders = cast(forms.ModelMultipleChoiceField, self.fields["coders"])
        coders.queryset = (
            get_user_model()
            .objects.filter(memberships__project=project, memberships__role__in=WRITE_ROLES)
            .order_by("first_name", "last_name", "username")
        )
        coders.label_from_instance = display_name  # type: ignore[method-assign, assignment]


class TranscriptBlindForm(forms.Form):
    blind_mode = forms.ChoiceField(label=_("Blind coding"), choices=BlindMode.choices)
