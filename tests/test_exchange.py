"""REFI-QDA exchange: exports valid against the XSD and readable by pyqdpx, imports that are
all-or-nothing and robust to what other programs write, and the round trip."""

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from lxml import etree

from coding.exchange import export_qdc, export_qdpx, read_exchange
from coding.models import Code, Coding, Excerpt, Memo, Project, Transcript
from coding.services.exchange import import_plan

from . import exchange_data

SCHEMAS = Path(__file__).parent / "refi_qda"
NS = {"q": "urn:QDA-XML:project:1.0"}


def _schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def _qdpx(project) -> bytes:
    buf = io.BytesIO()
    export_qdpx(buf, project)
    return buf.getvalue()


def _qde(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read("project.qde")


@pytest.fixture
def study(alice, bob):
    return exchange_data.build(alice, bob)


def test_the_project_export_is_valid_against_the_refi_schema(study):
    data = _qdpx(study)
    tree = etree.fromstring(_qde(data))
    schema = _schema("Project-mrt2019.xsd")
    assert schema.validate(tree), schema.error_log
    xmlschema = pytest.importorskip("xmlschema")
    xmlschema.XMLSchema(str(SCHEMAS / "Project-mrt2019.xsd")).validate(_qde(data).decode())
    # Every TextSource has its plain text beside it, in UTF-8, and offsets are code points.
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for src in tree.iterfind("q:Sources/q:TextSource", NS):
            path = src.get("plainTextPath").removeprefix("internal://")
            text = zf.read(f"sources/{path}").decode("utf-8")
            t = Transcript.objects.get(title=src.get("name"))
            assert text == t.text
            for sel in src.iterfind("q:PlainTextSelection", NS):
                s, e = int(sel.get("startPosition")), int(sel.get("endPosition"))
                assert Excerpt.objects.filter(transcript=t, start=s, end=e).exists()
    assert len(tree.findall(".//q:Coding", NS)) == Coding.objects.count()
    assert len(tree.findall("q:Notes/q:Note", NS)) == Memo.objects.count()
    variables = {v.get("name"): v.get("typeOfVariable") for v in tree.iterfind(".//q:Variable", NS)}
    assert variables["Boliger per 1000"] == "Float" and variables["Avtale inngått"] == "Date"


def test_the_codebook_export_is_valid_and_folds_the_definitions(study):
    buf = io.BytesIO()
    n = export_qdc(buf, study)
    tree = etree.fromstring(buf.getvalue())
    schema = _schema("Codebook.xsd")
    assert schema.validate(tree), schema.error_log
    assert n == Code.objects.count() == len(tree.findall(".//{*}Code"))
    code = tree.find(".//{*}Code[@name='Forankring og eierskap']")
    desc = code.find("{*}Description").text
    assert desc.startswith("Ledelsens forankring av arbeidet.\n\nWhen to use:\nNår ledere")
    assert "When not to use:\nIkke enkeltsaker." in desc and "Example:\n«Rådmannen" in desc
    # Nested codes stay nested.
    assert code.find("{*}Code[@name='Ledelse']/{*}Code[@name='Politisk nivå']") is not None


def test_exporting_twice_gives_the_same_guids(study):
    assert _qde(_qdpx(study)) == _qde(_qdpx(study))


def test_pyqdpx_reads_the_export_with_the_same_counts(study, tmp_path):
    pyqdpx = pytest.importorskip("pyqdpx")
    path = tmp_path / "study.qdpx"
    path.write_bytes(_qdpx(study))
    qde = pyqdpx.QDPX(str(path)).get_project()
    assert len(qde.users) == 2
    assert len(qde.codes) == Code.objects.count()
    assert len(qde.sources) == Transcript.objects.count()
    assert sum(len(s.coded_selections) for s in qde.sources.values()) == Excerpt.objects.count()
    for source in qde.sources.values():
        t = Transcript.objects.get(title=source.name)
        assert pyqdpx.QDPX(str(path)).get_source(source.guid) == t.text


def _roundtrip_qde(project, actor, tmp_path) -> tuple[bytes, bytes, Project]:
    first = _qdpx(project)
    plan = read_exchange(io.BytesIO(first), "study.qdpx")
    owner_guid = etree.fromstring(_qde(first)).get("creatingUserGUID")
    result = import_plan(
        plan,
        actor=actor,
        new_project_name=project.name,
        user_map={owner_guid: {"mode": "existing", "user_id": actor.pk}},
    )
    return _qde(first), _qde(_qdpx(result.project)), result.project


def _without_project_dates(qde: bytes) -> bytes:
    tree = etree.fromstring(qde)
    del tree.attrib["creationDateTime"]
    return etree.tostring(tree)


def test_export_import_export_gives_the_same_project_file(study, alice, tmp_path):
    first, second, copy = _roundtrip_qde(study, alice, tmp_path)
    assert copy.pk != study.pk
    # The one documented difference: the new project's creation date.
    assert _without_project_dates(first) == _without_project_dates(second)
    assert Coding.objects.filter(tag__codebook__project=copy).count() == 7
    t = Transcript.objects.get(case__project=copy, title="Intervju Drammen – Åse")
    # Speaker turns were detected and mapped again.
    assert {turn.label for turn in t.turns.all()} >= {"I", "Åse Øvrebø"}
    assert t.turns.filter(is_interviewer=True, label="I").exists()
    assert t.turns.filter(informant__pseudonym="Åse Øvrebø").exists()


def test_import_command_creates_a_project_and_says_what_it_did(study, tmp_path):
    path = tmp_path / "study.qdpx"
    path.write_bytes(_qdpx(study))
    out = io.StringIO()
    call_command("import_qdpx", str(path), "--new-project", "Kopi", "--json", stdout=out)
    report = json.loads(out.getvalue())
    copy = Project.objects.get(name="Kopi")
    assert report["project"] == copy.pk
    assert report["created"]["sources"] == 2 and report["created"]["codings"] == 7
    assert report["left_out"] == []
    # REFI users became accounts that cannot log in until invited.
    coders = {m.user for m in copy.memberships.all()}
    assert len(coders) == 2 and not any(u.has_usable_password() for u in coders)


def test_export_command_writes_a_qdpx_and_a_qdc(study, tmp_path):
    out = io.StringIO()
    call_command("export_qdpx", str(study.pk), "--out", str(tmp_path / "p.qdpx"), stdout=out)
    call_command("export_qdc", str(study.pk), "--out", str(tmp_path / "c.qdc"), stdout=out)
    assert zipfile.is_zipfile(tmp_path / "p.qdpx")
    assert etree.parse(str(tmp_path / "c.qdc")).getroot().tag.endswith("CodeBook")
    assert "7 codings" in out.getvalue()


def test_the_import_reports_progress_while_it_segments_and_writes(study, alice):
    plan = read_exchange(io.BytesIO(_qdpx(study)), "study.qdpx")
    seen: list[int] = []
    import_plan(plan, actor=alice, new_project_name="Kopi", progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 100
    # The segmentation (before the writing transaction) reports its own steps.
    assert [p for p in seen if 0 < p <= 60] != []


def test_characters_xml_cannot_hold_are_dropped_from_names_and_memos(study, alice):
    Memo.objects.filter(project=study).update(text="Før\x0bEtter\x01.")
    Code.objects.filter(codebook__project=study, name="Kompetanse").update(name="Kompe\x07tanse")
    tree = etree.fromstring(_qde(_qdpx(study)))
    assert _schema("Project-mrt2019.xsd").validate(tree)
    assert tree.find(".//q:Code[@name='Kompetanse']", NS) is not None
    assert "FørEtter." in {
        n.findtext("q:PlainTextContent", namespaces=NS) for n in tree.iterfind(".//q:Note", NS)
    }


def test_import_command_adds_to_an_existing_project_keeping_both_codes(study, tmp_path):
    path = tmp_path / "study.qdpx"
    path.write_bytes(_qdpx(study))
    before = Code.objects.filter(codebook__project=study).count()
    out = io.StringIO()
    call_command("import_qdpx", str(path), "--project", str(study.pk), "--keep-both", stdout=out)
    assert "Imported into project" in out.getvalue() and "Nothing was left out." in out.getvalue()
    assert Code.objects.filter(codebook__project=study).count() == 2 * before
    assert Code.objects.filter(codebook__project=study, name="Kompetanse (2)").exists()
    # Cases are matched by name: the transcripts join the cases they came from.
    assert study.cases.count() == 2
    assert Transcript.objects.filter(case__project=study).count() == 4


def test_the_consensus_is_exported_as_a_user_of_its_own(study, alice):
    """REFI-QDA has no coding layers: the consensus travels as one more user ("Konsensus"),
    so another program shows it beside the coders instead of inside the decider's codings."""
    from django.utils.translation import gettext

    from coding.models import CodingLayer

    consensus = gettext("Consensus")  # in the export's language

    mine = Coding.objects.filter(coder=alice).select_related("content_object").first()
    Coding.objects.create(
        content_object=mine.content_object, tag=mine.tag, coder=alice, layer=CodingLayer.CONSENSUS
    )
    tree = etree.fromstring(_qde(_qdpx(study)))
    assert _schema("Project-mrt2019.xsd").validate(tree)
    users = {u.get("name"): u.get("guid") for u in tree.iterfind("q:Users/q:User", NS)}
    assert consensus in users
    by_user = [c.get("creatingUser") for c in tree.iterfind(".//q:Coding", NS)]
    assert by_user.count(users[consensus]) == 1
    assert (
        by_user.count(users[alice.get_full_name() or alice.username])
        == Coding.objects.filter(coder=alice, layer=CodingLayer.CODER).count()
    )
    assert len(by_user) == Coding.objects.count()
