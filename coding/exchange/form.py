"""Forms of the REFI-QDA import: the upload, and the preview's choices."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _

from coding.people import display_name

MAP_CODER = "coder"
MAP_NAME = "name"
SPEAKER_INTERVIEWER = "interviewer"
SPEAKER_OTHER = "speaker"
SPEAKER_NONE = "none"
INFORMANT_PREFIX = "informant:"


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

    def __init__(
        self,
        *args: Any,
        users: dict[str, str],
        members: list[User],
        sources: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """``sources``: (guid, name, [(label, turns)], proposed mapping, {folded: informant})
        for each source whose speaker labels the owner may map."""
        super().__init__(*args, **kwargs)
        self.speaker_fields: list[tuple[str, list[tuple[str, str, str]]]] = []
        for i, (guid, name, labels, proposed, informants) in enumerate(sources or []):
            rows = []
            for j, (label, n) in enumerate(labels):
                key = f"spk_{i}_{j}"
                choices = [
                    (SPEAKER_INTERVIEWER, _("Interviewer")),
                    *[(f"{INFORMANT_PREFIX}{k}", v) for k, v in sorted(informants.items())],
                    (SPEAKER_OTHER, _("Speaker (no informant)")),
                    (SPEAKER_NONE, _("Not a speaker label")),
                ]
                p = proposed.get(label, {})
                initial = (
                    f"{INFORMANT_PREFIX}{p['pseudonym']}"
                    if p.get("kind") == "informant"
                    else p.get("kind", SPEAKER_OTHER)
                )
                self.fields[key] = forms.ChoiceField(
                    label=f"{label} ({n})", choices=choices, initial=initial
                )
                rows.append((key, label, guid))
            self.speaker_fields.append((name, rows))
        choices = [
            (MAP_CODER, _("new researcher (can log in once invited)")),
            (MAP_NAME, _("coder name only (no member)")),
        ] + [
            (
                str(u.pk),
                _("existing member: %(name)s") % {"name": display_name(u)},
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

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data is None:  # the stubs allow it; Form.clean returns cleaned_data
            data = self.cleaned_data
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

    def speakers(self) -> dict[str, dict[str, dict]]:
        """Per source GUID, label -> the mapping coding.services.exchange.import_plan takes."""
        out: dict[str, dict[str, dict]] = {}
        for _name, rows in self.speaker_fields:
            for key, label, guid in rows:
                value = self.cleaned_data[key]
                if value.startswith(INFORMANT_PREFIX):
                    choice = {"kind": "informant", "pseudonym": value[len(INFORMANT_PREFIX) :]}
                else:
                    choice = {"kind": value}
                out.setdefault(guid, {})[label] = choice
        return out
