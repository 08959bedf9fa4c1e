"""A transcript for the transcript-view tests, imported through the real path (pasted text with
CRLF line ends, speaker mapping, sentence splitting), holding the characters offsets get wrong:
æøå, an emoji outside the Basic Multilingual Plane, a combining mark without a precomposed form,
and one very long line."""

from __future__ import annotations

from unittest import mock

from coding import importers, nlp, services
from coding.models import Transcript

from .factories import InformantFactory

EMOJI = "\U0001f600"  # 😀, two UTF-16 code units
COMBINING = "x\u0304"  # x̄: stays two code points after NFC

LONG_SENTENCE = "Vi dro rundt og snakket med alle som ville høre på oss om boliger. "
LONG_LINE = (LONG_SENTENCE * 300).strip()  # about 20,000 characters on one line

LINES = [
    "I: Hvordan jobber dere med boliger i kommunen?",
    "IP: Vi samarbeider tett med NAV om boliger. Det går bra nå, og alle er fornøyde.",
    "I: Og hvordan blir brukerne hørt?",
    f"IP: Brukerne blir hørt {EMOJI} i ærlige møter på Økern. Noen ganger må vi si nei.",
    f"Vi regnet ut {COMBINING}-verdien for hele året. Kompetansen i tjenesten øker.",
    "I: Kan du fortelle mer om oppfølgingen?",
    f"IP: {LONG_LINE} Til slutt fikk vi {EMOJI} en avtale med utleierne på Grünerløkka.",
]
CRLF_TEXT = "\r\n\r\n".join(LINES) + "\r\n"

# An in-vivo name over 60 characters whose 60th UTF-16 unit is the first half of the emoji: the
# browser used to cut there (a lone surrogate), the server cuts at the word before 60 code points.
LONG_IN_VIVO = f"Vi snakket lenge om alt som angikk boligene og naboene her {EMOJI} hele tiden"


_real_split = nlp.split_sentences
_split_cache: dict = {}


def _split_once(text: str, spans, progress=None):
    """spaCy takes seconds over the long line; the split of the same text is the same."""
    key = (text, tuple(tuple(s) for s in spans))
    if key not in _split_cache:
        _split_cache[key] = _real_split(text, spans, progress=progress)
    return _split_cache[key]


def make_transcript(case, user, title: str = "Intervju med boligleder") -> Transcript:
    informant = InformantFactory(case=case, pseudonym="Tone Berg", role_title="Boligleder")
    doc = importers.parse_pasted(CRLF_TEXT, "intervju.txt")
    with mock.patch.object(nlp, "split_sentences", _split_once):
        return _create(case, doc, informant, user, title)


def make_in_vivo_transcript(case, user) -> Transcript:
    """A one-turn transcript holding LONG_IN_VIVO."""
    informant = InformantFactory(case=case, pseudonym="Tone Berg", role_title="Boligleder")
    doc = importers.parse_pasted(f"IP: {LONG_IN_VIVO}.\n", "intervju.txt")
    return _create(case, doc, informant, user, "Intervju om naboer")


def _create(case, doc, informant, user, title: str) -> Transcript:
    return services.transcript_create(
        case=case,
        doc=doc,
        title=title,
        speakers={
            "I": {"kind": "interviewer"},
            "IP": {"kind": "informant", "informant_id": informant.pk},
        },
        user=user,
        informant_ids=[informant.pk],
    )


def span_of(transcript: Transcript, phrase: str, occurrence: int = 1) -> tuple[int, int]:
    """Code point [start, end) of the n-th occurrence of ``phrase`` in the stored text."""
    pos = -1
    for _ in range(occurrence):
        pos = transcript.text.index(phrase, pos + 1)
    return pos, pos + len(phrase)


def u16(transcript: Transcript, cp: int) -> int:
    """The UTF-16 offset of code point offset ``cp``, computed independently of coding.offsets."""
    return len(transcript.text[:cp].encode("utf-16-le")) // 2
