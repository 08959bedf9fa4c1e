"""Transcripts for the language-tool tests, made through the real import path (so sentences,
lemmas and the word index are built as they are for an upload)."""

from __future__ import annotations

from collections.abc import Sequence

from coding import importers, services
from coding.models import Case, Informant, Level, Transcript


def informant(case: Case, name: str = "Kari", level: str = Level.OPERATIVE) -> Informant:
    return Informant.objects.get_or_create(case=case, pseudonym=name, defaults={"level": level})[0]


def make_transcript(
    case: Case,
    turns: Sequence[str],
    *,
    title: str = "Intervju",
    who: Informant | None = None,
    user=None,
) -> Transcript:
    """A transcript whose paragraphs alternate "I: question" and "IP: answer" as written in
    ``turns`` (each item is one paragraph with its label)."""
    who = who or informant(case)
    doc = importers.parse_pasted("\n\n".join(turns), title)
    return services.transcript_create(
        case=case,
        doc=doc,
        title=title,
        speakers={
            "I": {"kind": "interviewer"},
            "IP": {"kind": "informant", "informant_id": who.pk},
        },
        informant_ids=[who.pk],
        user=user,
    )


def span_of(transcript: Transcript, words: str, occurrence: int = 1) -> tuple[int, int]:
    pos = -1
    for _ in range(occurrence):
        pos = transcript.text.index(words, pos + 1)
    return pos, pos + len(words)
