"""A small project with everything REFI-QDA carries: two coders, overlapping codings, æøå and
emoji, memos on every kind of target, case and informant attributes of every type, tags."""

import datetime as dt
from decimal import Decimal

from coding import importers, services
from coding.models import (
    AttributeDefinition,
    AttributeTarget,
    AttributeValue,
    Case,
    CaseKind,
    Codebook,
    Informant,
    Level,
    Membership,
    Project,
)

TEXT_A = (
    "I: Hvordan samarbeider dere om boliger?\n\n"
    "Åse Øvrebø: Vi møtes hver uke 🏠 med NAV og boligkontoret, og det går bedre nå.\n\n"
    "I: Hva har endret seg?\n\n"
    "Åse Øvrebø: Ledelsen har forankret arbeidet, og vi har fått mer kompetanse 👍🏽 i teamet."
)
TEXT_B = "Notat fra befaring i bydelen. Beboerne ønsker flere små leiligheter nær sentrum."


def build(owner, coder2, project=None):
    """The study in ``project`` (owner and coder2 already members) or in a new project."""
    if project is None:
        project = Project.objects.create(name="Bolig for velferd – utveksling 🏘️")
        Membership.objects.create(project=project, user=owner, role="owner")
        Membership.objects.create(project=project, user=coder2, role="researcher")
    owner.first_name, owner.last_name = "Åsmund", "Ødegård"
    owner.save()
    cb = Codebook.objects.create(project=project, name="Kodebok")
    forankring = services.code_create(
        codebook=cb,
        actor=owner,
        name="Forankring og eierskap",
        color="#1f77b4",
        definition="Ledelsens forankring av arbeidet.",
        inclusion="Når ledere omtaler mål og planer.",
        exclusion="Ikke enkeltsaker.",
        example="«Rådmannen eier dette»",
        keywords="forankring\neierskap",
    )
    ledelse = services.code_create(codebook=cb, actor=owner, name="Ledelse", parent=forankring)
    services.code_create(codebook=cb, actor=owner, name="Politisk nivå", parent=ledelse)
    samarbeid = services.code_create(codebook=cb, actor=owner, name="Samarbeid 🤝", color="#ff7f0e")
    kompetanse = services.code_create(codebook=cb, actor=owner, name="Kompetanse")
    drammen = Case.objects.create(
        project=project,
        name="Drammen",
        kind=CaseKind.CASE_STUDY,
        description="Casekommune.",
        order=0,
    )
    stovner = Case.objects.create(
        project=project, name="Oslo – bydel Stovner", kind=CaseKind.IN_DEPTH, order=1
    )
    aase = Informant.objects.create(
        case=drammen, pseudonym="Åse Øvrebø", role_title="Boligkoordinator", level=Level.OPERATIVE
    )
    kinds = [
        ("Innbyggere", "integer", 100581),
        ("Region", "text", "Sør – Øst"),
        ("Kommuneprogram", "boolean", True),
        ("Boliger per 1000", "decimal", Decimal("20.5")),
        ("Avtale inngått", "date", dt.date(2016, 3, 1)),
    ]
    for order, (name, kind, value) in enumerate(kinds):
        d = AttributeDefinition.objects.create(
            project=project, target=AttributeTarget.CASE, name=name, kind=kind, order=order
        )
        AttributeValue.objects.create(definition=d, case=drammen, **{f"value_{kind}": value})
    years = AttributeDefinition.objects.create(
        project=project, target=AttributeTarget.INFORMANT, name="År i stillingen", kind="integer"
    )
    AttributeValue.objects.create(definition=years, informant=aase, value_integer=7)
    t1 = services.transcript_create(
        case=drammen,
        doc=importers.parse_pasted(TEXT_A, "a.txt"),
        title="Intervju Drammen – Åse",
        speakers={
            "I": {"kind": "interviewer"},
            "Åse Øvrebø": {"kind": "informant", "informant_id": aase.pk},
        },
        user=owner,
        interview_date="2019-05-14",
        mode="video",
        interviewers="Kari og Per",
        informant_ids=[aase.pk],
        tags=["pilot", "syntetisk"],
    )
    t2 = services.transcript_create(
        case=stovner,
        doc=importers.parse_pasted(TEXT_B, "b.txt"),
        title="Befaring Stovner",
        speakers={},
        user=coder2,
        tags=["syntetisk"],
    )
    text = t1.text
    s1 = text.index("Vi møtes")
    e1 = text.index("bedre nå.") + len("bedre nå.")
    s2 = text.index("NAV og")
    e2 = text.index("boligkontoret") + len("boligkontoret")
    s3 = text.index("Ledelsen")
    e3 = text.index("teamet.") + len("teamet.")
    x1, _ = services.excerpt_code(transcript=t1, start=s1, end=e1, codes=[samarbeid], coder=owner)
    services.excerpt_code(transcript=t1, start=s1, end=e1, codes=[samarbeid], coder=coder2)
    services.excerpt_code(transcript=t1, start=s2, end=e2, codes=[samarbeid, ledelse], coder=coder2)
    services.excerpt_code(
        transcript=t1, start=s3, end=e3, codes=[forankring, kompetanse], coder=owner
    )
    services.excerpt_code(
        transcript=t2, start=0, end=len(t2.text.split(".")[0]) + 1, codes=[kompetanse], coder=coder2
    )
    services.memo_save(
        project=project, author=owner, excerpt=x1, text="Ukentlige møter 📅 – viktig."
    )
    services.memo_save(project=project, author=coder2, transcript=t1, text="God flyt i intervjuet.")
    services.memo_save(
        project=project, author=owner, case=drammen, text="Drammen: sterk forankring."
    )
    services.memo_save(
        project=project, author=owner, code=samarbeid, text="Slå sammen med NAV-kode?"
    )
    services.memo_save(
        project=project, author=owner, text="Prosjektnotat æøå.", title="Oppsummering"
    )
    return project
