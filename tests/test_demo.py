import io
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from coding import importers
from coding.management import demo
from coding.models import Code, Coding, Project, Transcript
from coding.nlp import paragraphs_to_text

from .conftest import REQUIRE_SERVICES

MANIFEST = demo.load_manifest()
ENTRIES = MANIFEST["transcripts"]
SHARED = Path(settings.BASE_DIR).parent / "shared"


def test_the_manifest_lists_23_transcripts_whose_files_exist():
    assert len(ENTRIES) == 23
    for e in ENTRIES:
        assert (demo.TRANSCRIPTS / e["file"]).exists(), e["file"]
        assert (demo.TRANSCRIPTS / e["source"]).exists(), e["source"]
        assert e["synthetic"] is True
        assert Path(e["file"]).suffix == f".{e['format']}"
    formats = Counter(e["format"] for e in ENTRIES)
    assert formats["docx"] > formats["txt"] + formats["odt"], "most files are Word documents"


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_each_file_holds_its_source_text_and_says_it_is_synthetic(entry):
    path = demo.TRANSCRIPTS / entry["file"]
    doc = importers.read_document(io.BytesIO(path.read_bytes()), path.name)
    source = demo.source_paragraphs(demo.TRANSCRIPTS / entry["source"])
    assert paragraphs_to_text(p.text for p in doc.paragraphs) == paragraphs_to_text(source)
    assert source[0].startswith("SYNTETISK INTERVJU")
    assert {label for label, _n in importers.detect_speakers(doc)} == set(entry["speakers"])
    words = sum(len(p.split()) for p in source)
    assert 1500 <= words <= 4000


def test_the_corpus_has_at_least_60000_words():
    words = sum(
        len(" ".join(demo.source_paragraphs(demo.TRANSCRIPTS / e["source"])).split())
        for e in ENTRIES
    )
    assert words >= 60_000


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_every_coding_anchor_resolves(entry):
    path = demo.TRANSCRIPTS / entry["file"]
    doc = importers.read_document(io.BytesIO(path.read_bytes()), path.name)
    text, _turns = importers.build_text_and_turns(doc, set(entry["speakers"]))
    resolved = demo.resolve_codings(text, entry["id"])
    assert resolved, "every transcript is coded"
    assert {r.coder for r in resolved} == set(entry["coders"])
    for r in resolved:
        assert 0 <= r.start < r.end <= len(text)


def test_a_broken_anchor_fails_loudly():
    with pytest.raises(demo.AnchorError, match="not found"):
        demo.resolve_anchor("Vi har 25 ansatte.", {"start": "Vi har 26 ansatte"}, "x.json")
    with pytest.raises(demo.AnchorError, match="occurrence 2"):
        demo.resolve_anchor("Vi har 25 ansatte.", {"start": "Vi har", "occurrence": 2}, "x")
    assert demo.resolve_anchor(
        "a b c a b d", {"start": "a b", "occurrence": 2, "end": "d"}, "x"
    ) == (6, 11)


def test_a_third_of_the_transcripts_has_a_second_coder():
    with_b = [e for e in ENTRIES if "B" in e["coders"]]
    assert 7 <= len(with_b) <= 9


def test_the_cases_have_the_interviews_facts_gives():
    by_case: dict[str, list[dict]] = {}
    for e in ENTRIES:
        by_case.setdefault(e["case"], []).append(e)
    persons = {c: {p for e in es for p in e["informants"]} for c, es in by_case.items()}
    modes = {c: {e["mode"] for e in es} for c, es in by_case.items()}
    assert (len(by_case["Drammen"]), len(persons["Drammen"])) == (4, 4)
    assert (len(by_case["Sandnes"]), len(persons["Sandnes"])) == (3, 5)
    stovner = "Oslo – bydel Stovner"
    assert (len(by_case[stovner]), len(persons[stovner])) == (5, 7)
    assert modes["Drammen"] == modes["Sandnes"] == {"video"}
    assert modes[stovner] == {"fieldwork"}
    study = demo.json.loads(demo.STUDY.read_text(encoding="utf-8"))
    levels = {i["pseudonym"]: i["level"] for c in study["cases"] for i in c["informants"]}
    residents = [e for e in by_case[stovner] if all(levels[p] == "user" for p in e["informants"])]
    assert len(residents) == 3
    in_depth = [c for c in study["cases"] if c["kind"] == "in_depth"]
    assert len(in_depth) == 11
    assert all(len(by_case[c["name"]]) == 1 for c in in_depth)


def test_the_project_repeats_nothing_of_the_source_report_word_for_word(tmp_path):
    checker = SHARED / "tools" / "verbatim-check"
    if not checker.exists():
        if REQUIRE_SERVICES:
            pytest.fail(f"the shared verbatim check is required (REQUIRE_SERVICES=1): no {checker}")
        pytest.skip("the shared verbatim check is not beside this checkout")
    # The checker reads text files; give it the text inside the .docx and .odt files too.
    for e in ENTRIES:
        path = demo.TRANSCRIPTS / e["file"]
        doc = importers.read_document(io.BytesIO(path.read_bytes()), path.name)
        (tmp_path / f"{e['id']}.txt").write_text("\n".join(p.text for p in doc.paragraphs))
    for target in (None, tmp_path):
        args = [str(checker)] + ([str(target)] if target else [])
        result = subprocess.run(args, cwd=settings.BASE_DIR, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_load_demo_imports_and_codes_the_whole_study(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    project = Project.objects.get()
    assert Transcript.objects.filter(case__project=project).count() == 23
    assert project.cases.count() == 14
    assert Code.objects.filter(codebook__project=project, parent=None).count() == 5
    coders = Counter(Coding.objects.values_list("coder__username", flat=True))
    assert coders["forsker_a"] > 600 and 150 < coders["forsker_b"] < coders["forsker_a"]
    # Every coded passage's copy equals the transcript text at its offsets.
    for t in Transcript.objects.filter(case__project=project):
        for e in t.excerpts.all():
            assert t.text[e.start : e.end] == e.text
    assert "words per minute" in out.getvalue()
    # A second run leaves the project alone and prints the users again.
    out2 = io.StringIO()
    call_command("load_demo", stdout=out2)
    assert Project.objects.count() == 1 and "exists already" in out2.getvalue()


def _listed_passwords(output: str) -> dict[str, str]:
    users = "|".join(u for u, *_ in demo.DEMO_USERS)
    return dict(re.findall(rf"^  ({users}) +(\(not known\)|\S+)", output, re.MULTILINE))


@pytest.mark.django_db
def test_lost_demo_passwords_are_recovered_with_new_passwords(settings):
    from django.contrib.auth import authenticate

    out = io.StringIO()
    call_command("load_demo", "--no-transcripts", stdout=out)
    first = _listed_passwords(out.getvalue())
    assert len(first) == 4 and "(not known)" not in first.values()
    assert authenticate(username="eier", password=first["eier"]) is not None

    demo.password_file().unlink()
    out = io.StringIO()
    call_command("load_demo", "--no-transcripts", stdout=out)
    assert set(_listed_passwords(out.getvalue()).values()) == {"(not known)"}
    assert "load_demo --new-passwords" in out.getvalue()

    out = io.StringIO()
    call_command("load_demo", "--no-transcripts", "--new-passwords", stdout=out)
    new = _listed_passwords(out.getvalue())
    assert "(not known)" not in new.values() and new["eier"] != first["eier"]
    for username, password in new.items():
        assert authenticate(username=username, password=password) is not None
    assert demo.read_passwords() == new


@pytest.mark.django_db
def test_a_recreated_demo_user_never_drops_the_others_from_the_password_file(settings):
    from django.contrib.auth import get_user_model

    call_command("load_demo", "--no-transcripts", stdout=io.StringIO())
    before = demo.read_passwords()
    get_user_model().objects.filter(username="veileder").delete()
    out = io.StringIO()
    call_command("load_demo", "--no-transcripts", stdout=out)
    after = demo.read_passwords()
    assert set(after) == {u for u, *_ in demo.DEMO_USERS}
    assert {u: after[u] for u in before if u != "veileder"} == {
        u: pw for u, pw in before.items() if u != "veileder"
    }
    assert after["veileder"] != before["veileder"]
    assert _listed_passwords(out.getvalue()) == after
