"""The agreement page's form: which coders, which unit, and the passage overlap threshold.

The codes and transcripts come from the matrix filters (coding/analysis/filters.py), passed
along in the same query string.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from coding.analysis.agreement import DEFAULT_THRESHOLD, UNIT_LABELS, UNITS
from coding.analysis.filters import choice_field, coder_choices
from coding.models import Coding, CodingLayer, Project, blind_transcripts
from coding.people import display_name

# "unitized": the character figures, and Krippendorff's unitized alphas (analysis.unitized).
UNIT_CHOICES = [(u, UNIT_LABELS[u]) for u in UNITS] + [
    ("unitized", _("characters, with Krippendorff's unitized alphas"))
]


class AgreementForm(forms.Form):
    coders = forms.MultipleChoiceField(
        label=_("Coders"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Two or more. None chosen: the two who coded most."),
    )
    unit = forms.ChoiceField(label=_("Unit"), choices=UNIT_CHOICES, required=False)
    threshold = forms.IntegerField(
        label=_("Overlap threshold for passages (%)"),
        min_value=1,
        max_value=100,
        required=False,
    )

    def __init__(self, data: QueryDict | None, *, project: Project) -> None:
        # Their own codings: the consensus a researcher decided makes them no busier a coder.
        coded = Q(codings__tag__codebook__project=project, codings__layer=CodingLayer.CODER)
        viewer = getattr(project, "membership", None)  # set by coding.access
        if blind_transcripts(viewer) is not None:
            # Busiest by the codings the viewer may see (blind coding).
            coded &= Q(codings__in=Coding.objects.visible_to(viewer))
        # The project's coders, the busiest first: one query.
        self.coder_list: list[User] = list(
            coder_choices(project, viewer)
            .annotate(n=Count("codings", filter=coded, distinct=True))
            .order_by("-n", "username")
        )
        if data is not None and not data.getlist("coders"):
            # None chosen: the two who coded most, shown ticked.
            data = data.copy()
            data.setlist("coders", [str(u.pk) for u in self.coder_list[:2]])
        super().__init__(data)
        choice_field(self, "coders").choices = [
            (str(u.pk), display_name(u)) for u in self.coder_list
        ]

    def clean_coders(self) -> list[int]:
        chosen = [int(pk) for pk in self.cleaned_data["coders"]]
        if len(chosen) < 2:
            raise ValidationError(_("Choose two or more coders."), code="one_coder")
        if len(chosen) > 8:
            raise ValidationError(_("Choose at most eight coders."), code="many_coders")
        return chosen

    def clean_unit(self) -> str:
        return self.cleaned_data["unit"] or "character"

    def clean_threshold(self) -> float:
        value = self.cleaned_data["threshold"]
        return DEFAULT_THRESHOLD if value is None else value / 100
