"""Forms for cases, informants and attribute definitions (owners manage them)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from coding.models import AttributeDefinition, AttributeKind, Case, Informant


class _YesNoUnknown(forms.NullBooleanSelect):
    """Django's three-way select (it maps True/False/None to and from "true"/"false"/"unknown",
    so a saved value shows and posts back unchanged), with a dash for "not set"."""

    def __init__(self, attrs=None) -> None:
        super().__init__(attrs)
        self.choices = [("unknown", "—"), ("true", _("Yes")), ("false", _("No"))]


_FIELD_FOR_KIND = {
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


class AttributeValuesMixin:
    """Adds one typed field per attribute definition, named attr_<id>."""

    def add_attribute_fields(self, definitions, values: dict[int, object]) -> None:
        self.attribute_definitions = list(definitions)
        for d in self.attribute_definitions:
            field = _FIELD_FOR_KIND[d.kind](d.name)
            field.initial = _initial(values.get(d.pk))
            self.fields[f"attr_{d.pk}"] = field

    def attribute_values(self) -> dict[int, object]:
        return {d.pk: self.cleaned_data.get(f"attr_{d.pk}") for d in self.attribute_definitions}

    def attribute_bound_fields(self):
        return [self[f"attr_{d.pk}"] for d in self.attribute_definitions]


class CaseForm(AttributeValuesMixin, forms.ModelForm):
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Separate with commas"))

    class Meta:
        model = Case
        fields = ["name", "kind", "description", "order"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        labels = {"order": _("Position in lists")}

    def __init__(self, *args, definitions, values, **kwargs) -> None:
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

    def __init__(self, *args, definitions, values, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.add_attribute_fields(definitions, values)


class AttributeDefinitionForm(forms.ModelForm):
    class Meta:
        model = AttributeDefinition
        fields = ["target", "name", "kind", "order"]
        labels = {"target": _("Applies to"), "order": _("Position in lists")}
