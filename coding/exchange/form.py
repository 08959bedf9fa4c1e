"""Forms of the REFI-QDA import: the upload, and the preview's choices."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from coding.exchange.plan import SourceSpeakers
from coding.forms import MAX_SPEAKER_LABELS
from coding.people import display_name

# The per-source page shows the sources whose labels fill this many fields at most (Django
# refuses a form of more than DATA_UPLOAD_MAX_NUMBER_FIELDS, 1,000 by default).
SOURCE_PAGE_FIELDS = 300


@dataclass
class LabelGroup:
    """One speaker label and the sources that use it."""

    label: str
    sources: list[SourceSpeakers] = field(default_factory=list)
    turns: int = 0

    def proposals(self) -> Counter[str]:
        return Counter(choice_value(s.proposed.get(self.label, {})) for s in self.sources)

    def proposal_counts(self) -> list[tuple[str, int]]:
        """(proposed value, sources), the most common first, for the preview's table."""
        return self.proposals().most_common()

    def initial(self) -> str:
        """The proposal where every source agrees on it, else each source's own."""
        found = self.proposals()
        return next(iter(found)) if len(found) == 1 else AS_PROPOSED

    def choices(self) -> list[tuple[str, Any]]:
        names: dict[str, str] = {}
        for s in self.sources:
            names.update(s.informants)
        return [
            (AS_PROPOSED, _("as proposed for each source")),
            (SPEAKER_INTERVIEWER, _("Interviewer")),
            (ONLY_INFORMANT, _("the source's informant (where it has just one)")),
            *[(f"{INFORMANT_PREFIX}{k}", v) for k, v in sorted(names.items())],
            (SPEAKER_OTHER, _("Speaker (no informant)")),
            (SPEAKER_NONE, _("Not a speaker label")),
        ]


def label_groups(sources: list[SourceSpeakers]) -> list[LabelGroup]:
    """Every label of the sources, those of the most sources (then turns) first."""
    groups: dict[str, LabelGroup] = {}
    for s in sources:
        for label, n in s.labels:
            g = groups.setdefault(label, LabelGroup(label))
            g.sources.append(s)
            g.turns += n
    return sorted(groups.values(), key=lambda g: (-len(g.sources), -g.turns, g.label))


def choice_value(mapping: dict[str, Any]) -> str:
    """The form value of a mapping (the inverse of ``mapping_of``)."""
    if mapping.get("kind") == "informant":
        return f"{INFORMANT_PREFIX}{mapping['pseudonym']}"
    return str(mapping.get("kind", SPEAKER_OTHER))


def mapping_of(value: str, source: SourceSpeakers) -> dict[str, Any] | None:
    """What a form value means in ``source``; None where it decides nothing there (as
    proposed, the same as for every source, an informant who does not speak in it)."""
    if value in (AS_PROPOSED, SAME_AS_ALL):
        return None
    if value == ONLY_INFORMANT:
        if len(source.informants) != 1:
            return None
        return {"kind": "informant", "pseudonym": next(iter(source.informants))}
    if value.startswith(INFORMANT_PREFIX):
        folded = value[len(INFORMANT_PREFIX) :]
        return {"kind": "informant", "pseudonym": folded} if folded in source.informants else None
    if value in (SPEAKER_INTERVIEWER, SPEAKER_OTHER, SPEAKER_NONE):
        return {"kind": value}
    return None


def speaker_mapping(
    sources: list[SourceSpeakers],
    label_choices: dict[str, str],
    overrides: dict[str, dict[str, str]],
) -> dict[str, dict[str, dict]]:
    """Per source GUID, label -> mapping: the source's own choice, else the label's choice
    for every source, else the proposal (the one rule of the preview's two pages)."""
    out: dict[str, dict[str, dict]] = {}
    for s in sources:
        own = overrides.get(s.guid, {})
        mapping: dict[str, dict] = {}
        for label, _n in s.labels:
            mapping[label] = (
                mapping_of(own.get(label, SAME_AS_ALL), s)
                or mapping_of(label_choices.get(label, AS_PROPOSED), s)
                or s.proposed.get(label, {"kind": SPEAKER_OTHER})
            )
        out[s.guid] = mapping
    return out


def source_pages(sources: list[SourceSpeakers]) -> list[list[SourceSpeakers]]:
    """The sources with labels, cut into pages of at most ``SOURCE_PAGE_FIELDS`` fields (a
    source's labels are capped as the label list is)."""
    pages: list[list[SourceSpeakers]] = [[]]
    fields = 0
    for s in sources:
        n = min(len(s.labels), MAX_SPEAKER_LABELS)
        if not n:
            continue
        if pages[-1] and fields + n > SOURCE_PAGE_FIELDS:
            pages.append([])
            fields = 0
        pages[-1].append(s)
        fields += n
    return pages if pages[0] else []


class SourceSpeakersForm(forms.Form):
    """One page of the per-source speaker choices: for each label of each source, the same as
    for every source, or this source's own choice."""

    def __init__(
        self,
        *args: Any,
        sources: list[SourceSpeakers],
        overrides: dict[str, dict[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.rows: list[tuple[SourceSpeakers, list[tuple[str, str, int]]]] = []
        for i, s in enumerate(sources):
            rows = []
            for j, (label, n) in enumerate(s.labels[:MAX_SPEAKER_LABELS]):
                key = f"src_{i}_{j}"
                self.fields[key] = forms.ChoiceField(
                    label=label,
                    choices=[
                        (SAME_AS_ALL, _("as chosen for every source")),
                        (SPEAKER_INTERVIEWER, _("Interviewer")),
                        *[(f"{INFORMANT_PREFIX}{k}", v) for k, v in sorted(s.informants.items())],
                        (SPEAKER_OTHER, _("Speaker (no informant)")),
                        (SPEAKER_NONE, _("Not a speaker label")),
                    ],
                    initial=overrides.get(s.guid, {}).get(label, SAME_AS_ALL),
                    required=False,
                )
                rows.append((key, label, n))
            self.rows.append((s, rows))

    def overrides(self) -> dict[str, dict[str, str]]:
        """Per source GUID of this page, label -> its own choice (only those made)."""
        return {
            s.guid: {label: v for key, label, _n in rows if (v := self.cleaned_data[key])}
            for s, rows in self.rows
        }


MAP_CODER = "coder"
MAP_NAME = "name"
SPEAKER_INTERVIEWER = "interviewer"
SPEAKER_OTHER = "speaker"
SPEAKER_NONE = "none"
INFORMANT_PREFIX = "informant:"
AS_PROPOSED = "proposed"  # a label's choice: what each source's proposal says
ONLY_INFORMANT = "informant:*"  # a label's choice: the source's informant, where it has one
SAME_AS_ALL = ""  # a source's choice: the label's choice for every source


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
        sources: list[SourceSpeakers] | None = None,
        saved: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """``sources``: the speaker labels of every source. ``saved``: the speaker choices kept
        on the draft (``label_choices`` the mapping of each label in every source, chosen
        here; ``overrides`` per source GUID, chosen on the per-source page)."""
        super().__init__(*args, **kwargs)
        self.sources = sources or []
        saved = saved or {}
        self.saved_labels: dict[str, str] = saved.get("label_choices", {})
        self.overrides: dict[str, dict[str, str]] = saved.get("overrides", {})
        self.label_fields: list[tuple[str, LabelGroup]] = []
        groups = label_groups(self.sources)
        self.labels_as_proposed = max(0, len(groups) - MAX_SPEAKER_LABELS)
        for j, group in enumerate(groups[:MAX_SPEAKER_LABELS]):
            key = f"lbl_{j}"
            self.fields[key] = forms.ChoiceField(
                label=group.label,
                choices=group.choices(),
                initial=self.saved_labels.get(group.label, group.initial()),
            )
            self.label_fields.append((key, group))
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

    def posted_label_choices(self) -> dict[str, str]:
        """The labels' choices as posted, each checked on its own (the rest of the form need
        not be complete when the owner goes on to the per-source page)."""
        out = {}
        for key, group in self.label_fields:
            try:
                out[group.label] = self.fields[key].clean(self.data.get(key))
            except ValidationError:
                continue
        return out

    def label_choices(self) -> dict[str, str]:
        """Label -> the choice made for it in every source (``AS_PROPOSED`` included)."""
        return {group.label: self.cleaned_data[key] for key, group in self.label_fields}

    def speakers(self) -> dict[str, dict[str, dict]]:
        """Per source GUID, label -> the mapping coding.services.exchange.import_plan takes,
        for every source: a source's own choice, else its label's choice, else the proposal."""
        return speaker_mapping(self.sources, self.label_choices(), self.overrides)
