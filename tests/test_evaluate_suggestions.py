"""The evaluate_suggestions and make_suggestion_jsonl commands."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from .factories import CodeFactory
from .language_data import make_transcript
from .test_suggestions import LEARNING, MONEY, OTHER, coded_project


def write_jsonl(path, items) -> None:
    path.write_text(
        "".join(json.dumps({"text": t, "codes": c, "note": "ignored"}) + "\n" for t, c in items),
        encoding="utf-8",
    )


@pytest.fixture
def economy(codebook):
    return [
        CodeFactory(codebook=codebook, name="Økonomiske ressurser", keywords="budsjett\ntilskudd"),
        CodeFactory(codebook=codebook, name="Kompetanse", keywords="kurs"),
    ]


def evaluate(*args) -> dict:
    out = io.StringIO()
    call_command("evaluate_suggestions", *map(str, args), stdout=out)
    return json.loads(out.getvalue())


GOLD = [
    ("Budsjettet er stramt i år, og pengene rekker ikke.", ["Økonomiske ressurser"]),
    ("Vi søkte tilskudd og fikk penger fra staten.", ["Økonomiske ressurser"]),
    ("De nye veilederne fikk opplæring og kurs.", ["Kompetanse"]),
    ("Fagnettverket hjelper oss å lære av hverandre.", ["Kompetanse"]),
    ("Bussen går hver halvtime.", []),
]


def train_items(n: int = 16):
    items = []
    for i in range(n):
        items.append((f"{MONEY[i % 4]} {OTHER[i % 3]}", ["Økonomiske ressurser"]))
        items.append((f"{LEARNING[i % 4]} {OTHER[(i + 1) % 3]}", ["Kompetanse"]))
        items.append((OTHER[i % 3], []))
    return items


def test_it_reports_keywords_model_and_combined_figures(tmp_path, project, economy):
    gold, train = tmp_path / "gold.jsonl", tmp_path / "train.jsonl"
    write_jsonl(gold, GOLD)
    # One training line is a GOLD text: it must not be learned from.
    write_jsonl(train, [*train_items(), GOLD[0]])

    result = evaluate(gold, "--train", train, "--project", project.pk)

    assert result["gold"] == {"file": str(gold), "texts": 5, "with_codes": 4}
    assert result["training"]["dropped_overlapping_gold"] == 1
    assert result["training"]["examples"] == 48
    assert result["training"]["model"]["trained"] is True
    assert result["codes"] == ["Kompetanse", "Økonomiske ressurser"]
    for method in ("keywords", "model", "combined"):
        figures = result[method]
        assert set(figures) == {"per_code", "micro", "macro_f1"}
        assert set(figures["per_code"]["Kompetanse"]) == {
            "precision",
            "recall",
            "f1",
            "support",
            "predicted",
        }
    kw = result["keywords"]["per_code"]["Økonomiske ressurser"]
    assert (kw["precision"], kw["recall"], kw["support"]) == (1.0, 1.0, 2)
    assert result["keywords"]["per_code"]["Kompetanse"]["recall"] == 0.5
    # The union can only find more of what the gold codes hold.
    assert result["combined"]["micro"]["recall"] >= result["keywords"]["micro"]["recall"]
    assert result["combined"]["micro"]["recall"] >= result["model"]["micro"]["recall"]
    assert result["model"]["micro"]["f1"] > 0.5


def test_without_train_it_learns_from_the_projects_codings_but_never_from_gold(
    tmp_path, project, case, alice, economy
):
    t = coded_project(case, alice, *economy)
    gold = tmp_path / "gold.jsonl"
    turn = t.turns.filter(is_interviewer=False).first()
    write_jsonl(gold, [(t.text[turn.content_start : turn.end], ["Økonomiske ressurser"]), *GOLD])
    result = evaluate(gold)  # the only project is used
    assert result["training"]["source"] == f"project {project.pk}"
    # The GOLD turn occurs twice in the project, and the six plain turns lie inside it.
    assert result["training"]["dropped_overlapping_gold"] == 8
    assert result["training"]["examples"] == 48 - 8
    assert result["model"] is not None


def test_too_few_examples_are_reported_instead_of_a_model(tmp_path, project, economy):
    gold, train = tmp_path / "gold.jsonl", tmp_path / "train.jsonl"
    write_jsonl(gold, GOLD)
    write_jsonl(train, train_items(2))
    result = evaluate(gold, "--train", train, "--project", project.pk)
    assert result["training"]["model"]["trained"] is False
    assert "Too few codings" in result["training"]["model"]["message"]
    assert result["model"] is None
    assert result["combined"] == result["keywords"]


def test_codes_can_be_restricted(tmp_path, project, economy):
    gold, train = tmp_path / "gold.jsonl", tmp_path / "train.jsonl"
    write_jsonl(gold, GOLD)
    write_jsonl(train, train_items())
    result = evaluate(gold, "--train", train, "--project", project.pk, "--codes", "Kompetanse")
    assert result["codes"] == ["Kompetanse"]
    assert list(result["keywords"]["per_code"]) == ["Kompetanse"]


def test_errors_name_the_file_and_line(tmp_path, project, economy):
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"text": "Et budsjett", "codes": ["Kompetanse"]}\n{"text": 5}\n')
    with pytest.raises(CommandError, match=r"gold.jsonl:2: a line needs \"text\""):
        evaluate(gold, "--project", project.pk)
    gold.write_text('{"text": "Et budsjett", "codes": ["Ukjent kode"]}\n')
    with pytest.raises(CommandError, match=r"gold.jsonl:1: not in the project's codebook"):
        evaluate(gold, "--project", project.pk)
    gold.write_text("not json\n")
    with pytest.raises(CommandError, match=r"gold.jsonl:1: not JSON"):
        evaluate(gold, "--project", project.pk)


def test_make_suggestion_jsonl_writes_the_coders_passages(
    tmp_path, project, case, alice, bob, economy
):
    coded_project(case, alice, *economy, n=2)
    make_transcript(case, ["IP: " + MONEY[0]], title="Ukodet")
    out = tmp_path / "a.jsonl"
    call_command(
        "make_suggestion_jsonl",
        str(out),
        "--project",
        str(project.pk),
        "--coder",
        "alice",
        "--case",
        "Drammen",
        stdout=io.StringIO(),
    )
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 6  # the uncoded transcript is left out
    assert [line["codes"] for line in lines[:3]] == [["Økonomiske ressurser"], ["Kompetanse"], []]
    assert lines[0]["text"].startswith(MONEY[0]) and lines[0]["case"] == "Drammen"
    out_b = tmp_path / "b.jsonl"
    call_command(
        "make_suggestion_jsonl",
        str(out_b),
        "--project",
        str(project.pk),
        "--coder",
        "bob",
        stdout=io.StringIO(),
    )
    assert out_b.read_text() == ""


def test_it_reports_the_shown_rule_the_project_and_the_scored_codes(tmp_path, project, economy):
    gold, train = tmp_path / "gold.jsonl", tmp_path / "train.jsonl"
    # GOLD holds only economy codes: Kompetanse is not scored, and the output says so.
    write_jsonl(gold, [g for g in GOLD if "Kompetanse" not in g[1]])
    write_jsonl(train, train_items())
    result = evaluate(gold, "--train", train, "--project", project.pk)
    assert result["project"] == {"id": project.pk, "name": project.name}
    assert result["codes"] == ["Økonomiske ressurser"]
    assert result["codes_scored"] == "the codes that occur in GOLD"
    shown = result["shown"]
    assert set(shown) == {"per_code", "micro", "macro_f1"}
    assert list(shown["per_code"]) == ["Økonomiske ressurser"]
    # Keywords find every money text here, so the rule keeps keywords alone for that code.
    assert shown == result["keywords"]
    diff = result["shown_minus_keywords"]
    assert diff["difference"] == 0.0 and diff["ci95"] == [0.0, 0.0]
    rules = result["training"]["model"]["shown_cross_validated"]["per_code"]
    assert rules["Økonomiske ressurser"]["rule"] == "keywords"


def test_seeds_report_mean_and_spread(tmp_path, project, economy):
    gold, train = tmp_path / "gold.jsonl", tmp_path / "train.jsonl"
    write_jsonl(gold, GOLD)
    write_jsonl(train, train_items())
    result = evaluate(gold, "--train", train, "--project", project.pk, "--seeds", 2)
    spread = result["seeds"]["shown"]
    assert result["seeds"]["seeds"] == [0, 1]
    assert len(spread["macro_f1"]) == 2
    assert spread["macro_f1"][0] == result["shown"]["macro_f1"]
    assert spread["macro_f1_min"] <= spread["macro_f1_mean"] <= spread["macro_f1_max"]
    assert spread["macro_f1_sd"] >= 0.0


def test_a_gold_file_without_codes_is_refused(tmp_path, project, economy):
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"text": "Et budsjett"}\n{"text": "Kurs for alle"}\n', encoding="utf-8")
    with pytest.raises(CommandError, match=r'gold.jsonl: no line has "codes"'):
        evaluate(gold, "--project", project.pk)
    gold.write_text("\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"gold.jsonl: no texts"):
        evaluate(gold, "--project", project.pk)
