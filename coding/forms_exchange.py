"""Forms of the REFI-QDA import: the upload, and the preview's choices."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

MAP_CODER = "coder"
MAP_NAME = "name"


class ExchangeUploadForm(forms.Form):
    file = forms.FileField(
        label=_("REFI-QDA file"),
        help_text=_(
            "A project (.qdpx) or codebook (.qdc) from NVivo, MAXQDA, ATLAS.ti or QualCoder"
        ),
    )


class ExchangePreviewForm(forms.Form):
    target = forms.ChoiceField(
        label=_("Import into"),
        choices=[("new", _("a new project")), ("this", _("this project"))],
        widget=forms.RadioSelect,
        initial="new",
    )
    new_project_name = forms.CharField(
        label=_("Name of the new project"), max_length=200, required=False
    )
    codes = forms.ChoiceField(
        label=_("Codes with a name the codebook has already"),
        choices=[("merge", _("merge into the existing code")), ("keep", _("keep both"))],
        widget=forms.RadioSelect,
        initial="merge",
    )

    def __init__(self, *args, users: dict[str, str], members: list, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = [
            (MAP_CODER, _("new researcher (can log in once invited)")),
            (MAP_NAME, _("coder name only (no member)")),
        ] + [
            (
                str(u.pk),
                _("existing member: %(name)s") % {"name": u.get_full_name() or u.get_username()},
            )
            for u in members
        ]
        self.user_fields = []
        for i, (guid, name) in enumerate(sorted(users.items(), key=lambda x: x[1])):
            key = f"user_{i}"
            initial = next(
                (
                    str(u.pk)
                    for u in members
                    if name.casefold()
                    in {u.get_username().casefold(), u.get_full_name().casefold()}
                ),
                MAP_CODER,
            )
            self.fields[key] = forms.ChoiceField(label=name, choices=choices, initial=initial)
            self.user_fields.append((key, guid))

    def clean(self):
        data = super().clean()
        if data.get("target") == "new" and not (data.get("new_project_name") or "").strip():
            self.add_error("new_project_name", _("Name the new project."))
        return data

    def user_map(self) -> dict[str, dict]:
        out = {}
        for key, guid in self.user_fields:
            value = self.cleaned_data[key]
            if value in (MAP_CODER, MAP_NAME):
                out[guid] = {"mode": value}
            else:
                out[guid] = {"mode": "existing", "user_id": int(value)}
        return out
