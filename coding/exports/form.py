"""The Word export form: layout, options, language and an optional template."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from coding.analysis.filters import choice_field
from coding.exports.template import check_template
from coding.exports.word import (
    LAYOUT_BY_CASE,
    LAYOUT_BY_CODE,
    LAYOUT_FRAMEWORK,
    LAYOUT_REPORT,
    LAYOUT_SELECTION,
    STYLE_CONTEXT,
    STYLE_MEMO,
    STYLE_SOURCE,
)

LAYOUT_CHOICES = [
    (LAYOUT_BY_CODE, _("By code")),
    (LAYOUT_BY_CASE, _("By case")),
    (LAYOUT_SELECTION, _("A selection")),
    (LAYOUT_FRAMEWORK, _("Framework matrix")),
    (LAYOUT_REPORT, _("Report skeleton")),
]
LAYOUT_HELP = {
    LAYOUT_BY_CODE: _(
        "A chapter per code with its definition, a section per case, the excerpts under it."
    ),
    LAYOUT_BY_CASE: _("A chapter per case with its attributes and informants, a section per code."),
    LAYOUT_SELECTION: _(
        "Only the excerpts of a matrix filter or one matrix cell, chaptered by code."
    ),
    LAYOUT_FRAMEWORK: _(
        "The framework matrix as Word tables with the summaries, the excerpts as an appendix."
    ),
    LAYOUT_REPORT: _(
        "A chapter per case and per factor with the case summaries, the matrix's summaries, "
        "the cross-case syntheses and the key quotes; the codebook as an appendix."
    ),
}
CONTEXT_CHOICES = [
    (0, _("No context")),
    (10, _("10 words before and after")),
    (25, _("25 words before and after")),
    (50, _("50 words before and after")),
]


class ExportForm(forms.Form):
    layout = forms.ChoiceField(
        label=_("Layout"), choices=LAYOUT_CHOICES, widget=forms.RadioSelect, initial=LAYOUT_BY_CODE
    )
    memos = forms.BooleanField(label=_("Memos written on the excerpts"), required=False)
    key_quotes = forms.BooleanField(
        label=_("Key quotes only"),
        required=False,
        help_text=_("Only passages a researcher marked as a key quote (the report has no others)."),
    )
    context_words = forms.TypedChoiceField(
        label=_("Context around each quote"),
        choices=CONTEXT_CHOICES,
        coerce=int,
        initial=0,
        help_text=_("Shown in grey before and after the quote and marked as context."),
    )
    codebook = forms.BooleanField(
        label=_("Codebook appendix with definitions"), required=False, initial=True
    )
    excerpts_appendix = forms.BooleanField(
        label=_("Framework matrix: the excerpts as an appendix"), required=False, initial=True
    )
    language = forms.ChoiceField(label=_("Language of headings and labels"), choices=())
    template = forms.FileField(
        label=_("Word template (optional)"),
        required=False,
        help_text=format_lazy(
            _(
                "A .docx or .dotx whose styles the export uses: Title, Heading 1–3, Quote, and "
                "if you define them, “{source}”, “{context}” and “{memo}”."
            ),
            source=STYLE_SOURCE,
            context=STYLE_CONTEXT,
            memo=STYLE_MEMO,
        ),
    )

    # One matrix cell (coding/filters.py row and column keys), when the export came from a cell.
    cell_row = forms.CharField(required=False, widget=forms.HiddenInput, max_length=200)
    cell_col = forms.CharField(required=False, widget=forms.HiddenInput, max_length=20)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "language").choices = settings.LANGUAGES
        self.template_bytes: bytes | None = None

    def layout_options(self) -> list[dict[str, Any]]:
        """The layout radio buttons with a sentence each, for the template."""
        return [
            {"widget": radio, "help": LAYOUT_HELP[radio.data["value"]]} for radio in self["layout"]
        ]

    def clean_template(self) -> UploadedFile | None:
        upload = self.cleaned_data.get("template")
        if upload:
            try:
                self.template_bytes = check_template(upload, upload.name or "template.docx")
            except ValidationError as exc:
                raise ValidationError(exc.messages, code="template") from exc
        return upload

    def params(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "layout": d["layout"],
            "memos": d["memos"],
            "key_quotes": d["key_quotes"],
            "context_words": d["context_words"],
            "codebook": d["codebook"],
            "excerpts_appendix": d["excerpts_appendix"],
            "language": d["language"],
            "template_name": d["template"].name if d.get("template") else "",
        }

    def cell(self) -> dict[str, str] | None:
        d = self.cleaned_data
        if d.get("layout") == LAYOUT_SELECTION and d.get("cell_row") and d.get("cell_col"):
            return {"row": d["cell_row"], "col": d["cell_col"]}
        return None
