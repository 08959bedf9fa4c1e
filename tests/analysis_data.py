"""A small study whose matrices can be counted by hand (tests of coding.analysis.matrices & co).

Codes: Suksessfaktorer > F (Forankring), O (Organisering), B (Brukermedvirkning);
Tema > N (Normalisering), U (Innovasjon, never used).

Cases, informants (level), transcripts and the excerpts each answer holds:

  Drammen  (case municipality, programme yes, region Sør)
    TD1 2020-04-16 tag "pilot", Geir (strategic):  answer A: e1 F bob, F alice, O bob
                                                   answer B: e2 B bob
    TD2 2020-05-01, Ola (user):                    answer C: e3 O alice, N alice
  Sandnes  (case municipality, programme yes, region Vest)
    TS1 2020-06-01, Kristin (operative):           answer D: e4 F bob, e8 B alice (later in D)
                                                   answer E: e5 O bob, e6 B alice (overlapping)
  Rana     (in-depth municipality, programme no)
    TR1 2020-09-01, Siri (strategic):              answer F: e7 F bob, B bob
  Vadsø    (in-depth municipality, programme no): no transcripts

Informant attribute "Erfaring (år)": Geir 12, Ola 2, Kristin 5, Siri 20.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from coding import services
from coding.models import (
    AttributeDefinition,
    AttributeValue,
    Case,
    CaseKind,
    Code,
    Codebook,
    Excerpt,
    Informant,
    Level,
    Project,
    Transcript,
    Turn,
)

INTERVIEWER = "I"

# The excerpts' texts: simple words, so a hand count of words is len(text.split()).
A = "Kommunestyret eier strategien og rådmannen følger den opp hvert år."
B = "Brukerne sitter i styringsgruppen."
C = "Vi møtes hver uke på tvers av etatene."
D1 = "Politikerne vedtok planen enstemmig."
D2 = "Beboerne blir spurt før vi endrer tilbudet."
E = "Tjenestene er samlet i ett team og brukerne blir hørt i hvert møte."
F = "Ledelsen står bak arbeidet og brukerrådet får si sin mening."


@dataclass
class Study:
    project: Project
    codes: dict[str, Code]
    cases: dict[str, Case]
    informants: dict[str, Informant]
    transcripts: dict[str, Transcript]
    excerpts: dict[str, Excerpt] = field(default_factory=dict)
    definitions: dict[str, AttributeDefinition] = field(default_factory=dict)


def make_transcript(
    case: Case,
    title: str,
    date: str,
    turns: list[tuple[Informant | str, str]],
    tags: tuple[str, ...] = (),
) -> Transcript:
    """A transcript of "LABEL: text" paragraphs with one Turn per paragraph."""
    parts, spans, pos = [], [], 0
    for who, body in turns:
        label = "I" if who == INTERVIEWER else who.pseudonym
        par = f"{label}: {body}"
        spans.append((pos, pos + len(label) + 2, pos + len(par), who))
        parts.append(par)
        pos += len(par) + 2
    text = "\n\n".join(parts)
    informants = {who.pk: who for who, _b in turns if who != INTERVIEWER}
    t = Transcript.objects.create(
        case=case,
        title=title,
        text=text,
        word_count=len(text.split()),
        interview_date=dt.date.fromisoformat(date),
    )
    t.informants.set(informants.values())
    Turn.objects.bulk_create(
        Turn(
            transcript=t,
            index=i,
            start=s,
            content_start=c,
            end=e,
            label="I" if who == INTERVIEWER else who.pseudonym,
            is_interviewer=who == INTERVIEWER,
            informant=None if who == INTERVIEWER else who,
        )
        for i, (s, c, e, who) in enumerate(spans)
    )
    if tags:
        t.tags.set(list(tags))
    return t


def code(study: Study, t: Transcript, phrase: str, codes: str, coder, occurrence: int = 1):
    """Code ``phrase`` (its ``occurrence``-th appearance) with codes named by letters."""
    start = -1
    for _ in range(occurrence):
        start = t.text.index(phrase, start + 1)
    excerpt, _created = services.excerpt_code(
        transcript=t,
        start=start,
        end=start + len(phrase),
        codes=[study.codes[c] for c in codes],
        coder=coder,
    )
    return excerpt


def build(project: Project, bob, alice) -> Study:
    codebook = Codebook.objects.create(project=project, name="Kodebok")

    def mk(name, order, parent=None, short=""):
        return Code.objects.create(
            codebook=codebook,
            name=name,
            order=order,
            parent=parent,
            short_name=short,
            color="#1f77b4",
        )

    factors = mk("Suksessfaktorer", 0)
    tema = mk("Tema", 1)
    codes = {
        "G": factors,
        "F": mk("Forankring", 0, factors, "F"),
        "O": mk("Organisering", 1, factors, "O"),
        "B": mk("Brukermedvirkning", 2, factors, "B"),
        "T": tema,
        "N": mk("Normalisering", 0, tema),
        "U": mk("Innovasjon", 1, tema),
    }
    cases = {
        "Drammen": Case.objects.create(
            project=project, name="Drammen", kind=CaseKind.CASE_STUDY, order=0
        ),
        "Sandnes": Case.objects.create(
            project=project, name="Sandnes", kind=CaseKind.CASE_STUDY, order=1
        ),
        "Rana": Case.objects.create(project=project, name="Rana", kind=CaseKind.IN_DEPTH, order=2),
        "Vadsø": Case.objects.create(
            project=project, name="Vadsø", kind=CaseKind.IN_DEPTH, order=3
        ),
    }
    program = AttributeDefinition.objects.create(
        project=project, target="case", name="Kommuneprogram", kind="boolean", order=0
    )
    region = AttributeDefinition.objects.create(
        project=project, target="case", name="Husbanken-region", kind="text", order=1
    )
    years = AttributeDefinition.objects.create(
        project=project, target="informant", name="Erfaring (år)", kind="integer", order=0
    )
    for name, prog, reg in [
        ("Drammen", True, "Sør"),
        ("Sandnes", True, "Vest"),
        ("Rana", False, ""),
        ("Vadsø", False, ""),
    ]:
        AttributeValue.objects.create(definition=program, case=cases[name], value_boolean=prog)
        if reg:
            AttributeValue.objects.create(definition=region, case=cases[name], value_text=reg)
    informants = {
        "Geir": Informant.objects.create(
            case=cases["Drammen"], pseudonym="Geir", role_title="Rådmann", level=Level.STRATEGIC
        ),
        "Ola": Informant.objects.create(
            case=cases["Drammen"], pseudonym="Ola", role_title="Beboer", level=Level.USER
        ),
        "Kristin": Informant.objects.create(
            case=cases["Sandnes"],
            pseudonym="Kristin",
            role_title="Boligkonsulent",
            level=Level.OPERATIVE,
        ),
        "Siri": Informant.objects.create(
            case=cases["Rana"], pseudonym="Siri", role_title="Kommunalsjef", level=Level.STRATEGIC
        ),
    }
    for name, n in [("Geir", 12), ("Ola", 2), ("Kristin", 5), ("Siri", 20)]:
        AttributeValue.objects.create(definition=years, informant=informants[name], value_integer=n)
    q = "Hvordan er arbeidet organisert?"
    geir, ola, kristin, siri = (informants[n] for n in ("Geir", "Ola", "Kristin", "Siri"))
    transcripts = {
        "TD1": make_transcript(
            cases["Drammen"],
            "Drammen: rådmannen",
            "2020-04-16",
            [(INTERVIEWER, q), (geir, A), (INTERVIEWER, q), (geir, B)],
            tags=("pilot",),
        ),
        "TD2": make_transcript(
            cases["Drammen"], "Drammen: beboer", "2020-05-01", [(INTERVIEWER, q), (ola, C)]
        ),
        "TS1": make_transcript(
            cases["Sandnes"],
            "Sandnes: boligkonsulent",
            "2020-06-01",
            [(INTERVIEWER, q), (kristin, f"{D1} {D2}"), (INTERVIEWER, q), (kristin, E)],
        ),
        "TR1": make_transcript(
            cases["Rana"], "Rana: kommunalsjef", "2020-09-01", [(INTERVIEWER, q), (siri, F)]
        ),
    }
    study = Study(
        project,
        codes,
        cases,
        informants,
        transcripts,
        definitions={"program": program, "region": region, "years": years},
    )
    td1, td2, ts1, tr1 = (transcripts[k] for k in ("TD1", "TD2", "TS1", "TR1"))
    ex = study.excerpts
    ex["e1"] = code(study, td1, A, "FO", bob)
    code(study, td1, A, "F", alice)
    ex["e2"] = code(study, td1, B, "B", bob)
    ex["e3"] = code(study, td2, C, "ON", alice)
    ex["e4"] = code(study, ts1, D1, "F", bob)
    ex["e8"] = code(study, ts1, D2, "B", alice)
    # e5 and e6 overlap inside answer E: "Tjenestene er samlet i ett team" and
    # "i ett team og brukerne blir hørt i hvert møte."
    e_start = ts1.text.index(E)
    e5_end = e_start + E.index(" og brukerne")
    e6_start = e_start + E.index("i ett team")
    ex["e5"] = services.excerpt_code(
        transcript=ts1, start=e_start, end=e5_end, codes=[codes["O"]], coder=bob
    )[0]
    ex["e6"] = services.excerpt_code(
        transcript=ts1, start=e6_start, end=e_start + len(E), codes=[codes["B"]], coder=alice
    )[0]
    ex["e7"] = code(study, tr1, F, "FB", bob)
    return study
