"""Import of REFI-QDA files written by other programs (hand-made, one oddity each) and of
hostile files, which are refused with a clear message and leave nothing behind."""

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from coding.exchange import read_exchange
from coding.models import Case, Code, Coding, Excerpt, ExchangeGuid, Memo, Project, Transcript
from coding.services.exchange import import_plan

U1 = "AAAAAAAA-1111-4111-8111-AAAAAAAAAAAA"
U2 = "{bbbbbbbb-2222-4222-8222-bbbbbbbbbbbb}"
C1 = "C0DE0001-0000-4000-8000-000000000001"
C2 = "c0de0002-0000-4000-8000-000000000002"
S1 = "5005CE01-0000-4000-8000-000000000001"


def qde(body: str, users: str | None = None, codes: str | None = None) -> str:
    users = (
        users
        if users is not None
        else (
            f'<Users><User guid="{U1}" name="Kari Nordmann"/><User guid="{U2}" name="Ola"/></Users>'
        )
    )
    codes = (
        codes
        if codes is not None
        else (
            f'<CodeBook><Codes><Code guid="{C1}" name="Samarbeid" isCodable="true" color="#F00"/>'
            f'<Code guid="{C2}" name="Kompetanse" isCodable="true"/></Codes></CodeBook>'
        )
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<Project xmlns="urn:QDA-XML:project:1.0" name="Fra NVivo">{users}{codes}{body}</Project>'
    )


def source(text_attr: str, selections: str = "", tag: str = "TextSource", guid: str = S1) -> str:
    return (
        f'<Sources><{tag} guid="{guid}" name="Intervju 1" {text_attr}>'
        f"{selections}</{tag}></Sources>"
    )


def sel(start: int, end: int, code: str = C1, user: str = U1, guid: str = "") -> str:
    guid = guid or f"5e1ec700-0000-4000-8000-{start:06d}{end:06d}"
    return (
        f'<PlainTextSelection guid="{guid}" startPosition="{start}" endPosition="{end}" '
        f'creatingUser="{user}"><Coding guid="{guid[:-4]}c0de" creatingUser="{user}">'
        f'<CodeRef targetGUID="{code}"/></Coding></PlainTextSelection>'
    )


def qdpx(project_qde: str, files: dict[str, bytes] | None = None) -> io.BytesIO:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("project.qde", project_qde.encode("utf-8"))
        for name, data in (files or {}).items():
            zf.writestr(name, data)
    buf.seek(0)
    return buf


def run(buf, alice, **kw):
    plan = read_exchange(buf, "fra-nvivo.qdpx")
    result = import_plan(plan, actor=alice, new_project_name="Import", **kw)
    return plan, result


TEXT = "I: Hvordan samarbeider dere?\r\nKari: Vi møtes hver uke med NAV.\r\nI: Og kompetansen?"


def _span(text: str, words: str) -> tuple[int, int]:
    s = text.index(words)
    return s, s + len(words)


@pytest.mark.parametrize(
    ("folder", "path"),
    [
        ("Sources/", f"internal://{S1}.txt"),
        ("sources/", f"internal://{S1.lower()}.txt"),
        ("sources/", f"sources/{S1}.txt"),
        ("", f"{S1}.txt"),
    ],
)
def test_it_finds_the_text_in_either_sources_folder_and_by_any_path(db, alice, folder, path):
    s, e = _span(TEXT, "Vi møtes hver uke")
    body = source(f'plainTextPath="{path}"', sel(s, e))
    _plan, result = run(qdpx(qde(body), {f"{folder}{S1}.txt": TEXT.encode()}), alice)
    t = Transcript.objects.get(case__project=result.project)
    x = Excerpt.objects.get(transcript=t)
    assert x.text == "Vi møtes hver uke"


def test_crlf_offsets_are_converted_to_the_stored_text(db, alice):
    s, e = _span(TEXT, "Og kompetansen?")
    body = source(f'plainTextPath="internal://{S1}.txt"', sel(s, e, code=C2))
    _plan, result = run(qdpx(qde(body), {f"sources/{S1}.txt": TEXT.encode()}), alice)
    t = Transcript.objects.get(case__project=result.project)
    assert "\r" not in t.text
    assert Excerpt.objects.get(transcript=t).text == "Og kompetansen?"


def test_a_selection_whose_text_does_not_survive_normalisation_is_left_out(db, alice):
    text = "Kafe\u0301en er stengt.\r\n\r\nNeste avsnitt."
    # 0-4 ends inside "e" + combining accent, which the stored NFC text makes one character;
    # 18-20 is the CRLF pair alone; 8-10 is "er", which comes through.
    body = source(
        f'plainTextPath="internal://{S1}.txt"', sel(0, 4) + sel(18, 20) + sel(8, 10) + sel(0, 99)
    )
    plan, result = run(qdpx(qde(body), {f"sources/{S1}.txt": text.encode()}), alice)
    t = Transcript.objects.get(case__project=result.project)
    assert [x.text for x in t.excerpts.all()] == ["er"]
    why = " ".join(y for _w, y in result.left_out)
    assert "no longer matches" in why and "outside the text" in why and "white space" in why


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_utf8_text_with_or_without_bom_keeps_its_offsets(db, alice, bom):
    text = "Åse: Vi har fått 🏠 boliger.\nI: Flott."
    s, e = _span(text, "boliger")
    body = source(f'plainTextPath="internal://{S1}.txt"', sel(s, e))
    _plan, result = run(qdpx(qde(body), {f"sources/{S1}.txt": bom + text.encode()}), alice)
    t = Transcript.objects.get(case__project=result.project)
    assert t.text.startswith("Åse:")
    assert Excerpt.objects.get(transcript=t).text == "boliger"


def test_plain_text_content_inline_and_guids_in_any_case(db, alice):
    text = "Vi møtes hver uke."
    body = source("", f"<PlainTextContent>{text}</PlainTextContent>" + sel(0, 8, code=C2.upper()))
    _plan, result = run(qdpx(qde(body)), alice)
    coding = Coding.objects.get(tag__codebook__project=result.project)
    assert coding.tag.name == "Kompetanse" and coding.coder.first_name == "Kari Nordmann"


def test_rich_and_plain_text_paths_on_one_source(db, alice, tmp_path):
    import docx

    doc = docx.Document()
    doc.add_paragraph("Vi møtes hver uke.")
    rich = io.BytesIO()
    doc.save(rich)
    body = source(
        f'richTextPath="internal://{S1}.docx" plainTextPath="internal://{S1}.txt"', sel(0, 8)
    )
    files = {
        f"sources/{S1}.txt": "Vi møtes hver uke.".encode(),
        f"sources/{S1}.docx": rich.getvalue(),
    }
    _plan, result = run(qdpx(qde(body), files), alice)
    t = Transcript.objects.get(case__project=result.project)
    assert t.text == "Vi møtes hver uke." and t.original_file.name.endswith(".docx")


def test_the_same_text_coded_by_two_users_and_codes_not_codable(db, alice):
    codes = (
        f'<CodeBook><Codes><Code guid="{C1}" name="Faktorer" isCodable="false">'
        f'<Code guid="{C2}" name="Kompetanse" isCodable="true"/></Code></Codes></CodeBook>'
    )
    body = source(
        "",
        "<PlainTextContent>Vi møtes hver uke.</PlainTextContent>"
        + sel(0, 8, code=C2, user=U1, guid="5e1ec700-0000-4000-8000-00000000000a")
        + sel(0, 8, code=C2, user=U2, guid="5e1ec700-0000-4000-8000-00000000000b"),
    )
    _plan, result = run(qdpx(qde(body, codes=codes)), alice)
    grouping = Code.objects.get(codebook__project=result.project, name="Faktorer")
    assert grouping.children.get().name == "Kompetanse"
    x = Excerpt.objects.get(transcript__case__project=result.project)
    assert sorted(c.coder.first_name for c in x.codings.all()) == ["Kari Nordmann", "Ola"]


def test_codes_nested_many_levels_deep(db, alice):
    depth = 15
    inner = ""
    for level in reversed(range(depth)):
        guid = f"c0de0000-0000-4000-8000-{level:012d}"
        inner = f'<Code guid="{guid}" name="Nivå {level}" isCodable="true">{inner}</Code>'
    plan, result = run(qdpx(qde("", codes=f"<CodeBook><Codes>{inner}</Codes></CodeBook>")), alice)
    deepest = Code.objects.get(codebook__project=result.project, name=f"Nivå {depth - 1}")
    levels = 0
    while deepest.parent_id:
        deepest, levels = deepest.parent, levels + 1
    assert levels == depth - 1


def test_sources_without_a_case_get_a_case_of_their_own_and_cases_keep_theirs(db, alice):
    s2 = "5005ce02-0000-4000-8000-000000000002"
    body = (
        "<Sources>"
        f'<TextSource guid="{S1}" name="A">'
        "<PlainTextContent>Tekst A.</PlainTextContent></TextSource>"
        f'<TextSource guid="{s2}" name="B">'
        "<PlainTextContent>Tekst B.</PlainTextContent></TextSource>"
        "</Sources>"
    )
    cases = (
        '<Cases><Case guid="ca5e0001-0000-4000-8000-000000000001" name="Drammen">'
        f'<SourceRef targetGUID="{S1.lower()}"/></Case></Cases>'
    )
    _plan, result = run(qdpx(qde(cases + body)), alice)
    by_title = {
        t.title: t.case.name for t in Transcript.objects.filter(case__project=result.project)
    }
    assert by_title == {"A": "Drammen", "B": "Without case (imported)"}


def test_what_cannot_be_carried_is_listed_and_left_out(db, alice):
    body = (
        "<Sources>"
        f'<TextSource guid="{S1}" name="T"><PlainTextContent>Tekst.</PlainTextContent></TextSource>'
        '<PDFSource guid="5005ce03-0000-4000-8000-000000000003" name="Rapport" path="relative://r.pdf"/>'
        '<AudioSource guid="5005ce04-0000-4000-8000-000000000004" name="Opptak"/>'
        '<PictureSource guid="5005ce05-0000-4000-8000-000000000005" name="Kart"/>'
        "</Sources>"
        '<Links><Link guid="11111111-0000-4000-8000-000000000001"/></Links>'
        '<Graphs><Graph guid="22222222-0000-4000-8000-000000000001"/></Graphs>'
    )
    plan, result = run(qdpx(qde(body)), alice)
    whats = " | ".join(w for w, _y in plan.left_out)
    assert "Rapport" in whats and "Opptak" in whats and "Kart" in whats
    assert "links" in whats and "graphs" in whats
    assert Transcript.objects.filter(case__project=result.project).count() == 1


def test_a_codebook_file_imports_into_an_existing_project_merging_by_name(
    db, alice, project, codes
):
    qdc = (
        '<?xml version="1.0"?><CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>'
        f'<Code guid="{C1}" name="kompetanse" isCodable="true"/>'
        f'<Code guid="{C2}" name="Ny kode" isCodable="true"><Description>Ny.</Description></Code>'
        "</Codes></CodeBook>"
    )
    before = Code.objects.filter(codebook__project=project).count()
    plan = read_exchange(io.BytesIO(qdc.encode()), "bok.qdc")
    import_plan(plan, actor=alice, project=project)
    assert Code.objects.filter(codebook__project=project).count() == before + 1
    import_plan(
        read_exchange(io.BytesIO(qdc.encode()), "bok.qdc"),
        actor=alice,
        project=project,
        merge_codes=False,
    )
    assert Code.objects.filter(codebook__project=project, name="kompetanse (2)").exists()


def test_a_codebook_merges_and_renames_by_the_same_name_rule_as_the_form(db, alice, project, codes):
    # "ÆRLIGE SVAR" and "Ærlige svar" are one name (non-ASCII case), as in the codebook form.
    existing = Code.objects.create(codebook=project.codebook, name="Ærlige svar", color="#123456")
    qdc = (
        '<?xml version="1.0"?><CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>'
        f'<Code guid="{C1}" name="ÆRLIGE SVAR" isCodable="true"/>'
        "</Codes></CodeBook>"
    )
    before = Code.objects.filter(codebook__project=project).count()
    import_plan(read_exchange(io.BytesIO(qdc.encode()), "bok.qdc"), actor=alice, project=project)
    assert Code.objects.filter(codebook__project=project).count() == before
    assert Code.objects.filter(name_key="ærlige svar").get() == existing
    import_plan(
        read_exchange(io.BytesIO(qdc.encode()), "bok.qdc"),
        actor=alice,
        project=project,
        merge_codes=False,
    )
    assert Code.objects.filter(codebook__project=project, name="ÆRLIGE SVAR (2)").exists()


def test_a_failing_import_leaves_nothing_behind(db, alice, charlie):
    body = source("", "<PlainTextContent>Vi møtes.</PlainTextContent>" + sel(0, 2))
    plan = read_exchange(qdpx(qde(body)), "x.qdpx")
    projects, codes, memos = Project.objects.count(), Code.objects.count(), Memo.objects.count()
    with pytest.raises(ValidationError):
        import_plan(
            plan,
            actor=alice,
            new_project_name="X",
            user_map={U1.lower(): {"mode": "existing", "user_id": charlie.pk}},
        )
    assert (Project.objects.count(), Code.objects.count(), Memo.objects.count()) == (
        projects,
        codes,
        memos,
    )
    assert Case.objects.filter(name="Without case (imported)").count() == 0


# --- hostile files ---------------------------------------------------------------------------


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _huge_declared() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("project.qde", qde("").encode())
        zf.writestr("sources/big.txt", b"x" * 100)
        zf.filelist[-1].file_size = 10 * 1024**3  # the central directory claims 10 GB
    return buf.getvalue()


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    '<Project xmlns="urn:QDA-XML:project:1.0" name="&lol2;"/>'
)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_zip({"project.qde": qde("").encode(), "../../etc/evil.txt": b"x"}), "leads outside"),
        (_zip({"project.qde": qde("").encode(), "/abs/evil.txt": b"x"}), "leads outside"),
        (_huge_declared(), "zip bomb"),
        (
            _zip({"project.qde": qde("").encode(), "sources/inner.zip": _zip({"a": b"b"})}),
            "another archive",
        ),
        (
            _zip({"project.qde": qde("").encode(), "sources/x.txt": _zip({"a": b"b"})}),
            "another archive",
        ),
        (_zip({"project.qde": BILLION_LAUGHS.encode()}), "DOCTYPE"),
        (BILLION_LAUGHS.encode(), "DOCTYPE"),
        (_zip({"README": b"hello"}), "no project.qde"),
        (b"%PDF-1.4 not a project", "not a REFI-QDA"),
    ],
)
def test_hostile_files_are_refused_and_nothing_is_saved(db, tmp_path, data, message):
    path = tmp_path / "hostile.qdpx"
    path.write_bytes(data)
    with pytest.raises(CommandError, match=message):
        call_command("import_qdpx", str(path), "--new-project", "Hostile")
    assert not Project.objects.filter(name="Hostile").exists()
    assert Transcript.objects.count() == 0


def test_a_file_another_writer_changed_imports(db, alice, tmp_path):
    """pyqdpx (BeautifulSoup-based, another writer) adds a user, a nested code and codings."""
    pyqdpx = pytest.importorskip("pyqdpx")
    text = "Åse: Vi møtes hver uke 🏠 med NAV.\r\nI: Og kompetansen?\r\nÅse: Den vokser."
    # pyqdpx reads lower-case GUIDs only.
    u1, c1, c2, s1 = U1.lower(), C1.lower(), C2.lower(), S1.lower()
    users = f'<Users><User guid="{u1}" name="Kari Nordmann"/></Users>'
    codes = (
        f'<CodeBook><Codes><Code guid="{c1}" name="Samarbeid" isCodable="true"/>'
        f'<Code guid="{c2}" name="Kompetanse" isCodable="true"/></Codes></CodeBook>'
    )
    body = source(f'plainTextPath="internal://{s1}.txt"', guid=s1)
    path = tmp_path / "annen.qdpx"
    path.write_bytes(
        qdpx(qde(body, users=users, codes=codes), {f"Sources/{s1}.txt": text.encode()}).getvalue()
    )
    book = pyqdpx.QDPX(str(path))
    project = book.get_project()
    user = pyqdpx.User("Per Skriver")
    project.add_user(user)
    child = pyqdpx.Code("Samarbeid med NAV", project, parent=project.codes[c1])
    src = project.sources[s1]
    src.text_content = book.get_source(s1)
    s, e = _span(text, "hver uke 🏠")
    src.add_selection(s, e, child, user)
    s2, e2 = _span(text, "Den vokser.")
    src.add_selection(s2, e2, project.codes[c2], project.users[u1])
    book.save_project()
    with path.open("rb") as fh:
        plan = read_exchange(fh, path.name)
    result = import_plan(plan, actor=alice, new_project_name="Fra pyqdpx")
    got = sorted(
        (c.content_object.text, c.tag.name, c.coder.first_name)
        for c in Coding.objects.filter(tag__codebook__project=result.project)
    )
    assert got == [
        ("Den vokser.", "Kompetanse", "Kari Nordmann"),
        ("hver uke 🏠", "Samarbeid med NAV", "Per Skriver"),
    ]
    assert (
        Code.objects.get(name="Samarbeid med NAV", codebook__project=result.project).parent.name
        == "Samarbeid"
    )


def test_a_guid_the_project_holds_already_stays_with_its_first_object(db, alice, project, codes):
    qdc = (
        '<?xml version="1.0"?><CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>'
        f'<Code guid="{C2}" name="Ny kode" isCodable="true"/>'
        "</Codes></CodeBook>"
    )
    import_plan(read_exchange(io.BytesIO(qdc.encode()), "bok.qdc"), actor=alice, project=project)
    first = Code.objects.get(codebook__project=project, name="Ny kode")
    import_plan(
        read_exchange(io.BytesIO(qdc.encode()), "bok.qdc"),
        actor=alice,
        project=project,
        merge_codes=False,
    )
    assert Code.objects.filter(codebook__project=project, name="Ny kode (2)").exists()
    (row,) = ExchangeGuid.objects.filter(project=project, kind="code")
    assert (row.object_id, str(row.guid)) == (first.pk, C2.lower())
