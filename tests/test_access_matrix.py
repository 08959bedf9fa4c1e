"""Every URL of the project, checked for every kind of visitor.

ACCESS below has one entry per URL name: what each HTTP method needs (public, any logged-in
user, or read/write/own in the project) and, where the default is not enough, how to build the
URL's arguments and a request body. A URL without an entry makes
``test_every_url_has_an_access_entry`` fail: add one when you add a view.

The rules (coding/access.py):
- anonymous visitors are sent to the login page;
- charlie, who owns another project, gets 404 everywhere in ours, never 403 (which would
  reveal that the object exists);
- sue, a supervisor, reads everything and is refused every write with 403;
- bob, a researcher, reads and writes but is refused owner-only actions with 403;
- alice, the owner, may do everything.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from coding import importers, services
from coding.models import (
    Assignment,
    AttributeDefinition,
    Coding,
    CodingSource,
    Job,
    JobKind,
    JobStatus,
    Membership,
    Role,
    Suggestion,
)

from .factories import (
    CaseFactory,
    CodebookFactory,
    CodeFactory,
    InformantFactory,
    ProjectFactory,
    UserFactory,
)

EXCHANGE_QDC = (
    b'<?xml version="1.0"?><CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>'
    b'<Code guid="c0de0001-0000-4000-8000-000000000001" name="Ny" isCodable="true"/>'
    b"</Codes></CodeBook>"
)
PUBLIC = "public"  # anyone, logged in or not
AUTH = "auth"  # any logged-in user; nothing project-specific
READ = "read"
WRITE = "write"
OWN = "own"
ADMIN = "admin"  # Django's admin: staff only (nobody in these tests is staff)

PERSONAS = ("anonymous", "charlie", "sue", "bob", "alice")
ROLE_RANK = {READ: 0, WRITE: 1, OWN: 2}
PERSONA_RANK = {"sue": 0, "bob": 1, "alice": 2}


@dataclass
class World:
    project: object
    alice: object
    bob: object
    sue: object
    charlie: object
    case: object
    informant: object
    transcript: object
    codes: list
    excerpt: object
    coding: object
    memo: object
    definition: object
    draft_import: object
    export_job: object
    bob_membership: object
    extra: dict = field(default_factory=dict)


@pytest.fixture
def world(db) -> World:
    project = ProjectFactory(name="Bolig for velferd")
    users = {}
    for username, role in (
        ("alice", Role.OWNER),
        ("bob", Role.RESEARCHER),
        ("sue", Role.SUPERVISOR),
    ):
        users[username] = UserFactory(username=username)
        Membership.objects.create(project=project, user=users[username], role=role)
    # charlie is no stranger to the tool: he owns a project of his own, just not this one.
    charlie = UserFactory(username="charlie")
    elsewhere = ProjectFactory(name="Charlies prosjekt")
    Membership.objects.create(project=elsewhere, user=charlie, role=Role.OWNER)
    CodebookFactory(project=elsewhere)

    codebook = CodebookFactory(project=project)
    codes = [
        CodeFactory(codebook=codebook, name=name, order=i)
        for i, name in enumerate(["Forankring", "Kompetanse", "Samarbeid"])
    ]
    case = CaseFactory(project=project, name="Drammen")
    informant = InformantFactory(case=case, pseudonym="Tone Berg")
    doc = importers.parse_pasted(
        "I: Hvordan samarbeider dere?\nIP: Vi samarbeider tett med NAV om boliger.", "x"
    )
    transcript = services.transcript_create(
        case=case,
        doc=doc,
        title="Intervju med Tone",
        speakers={
            "I": {"kind": "interviewer"},
            "IP": {"kind": "informant", "informant_id": informant.pk},
        },
        user=users["alice"],
    )
    start = transcript.text.index("Vi samarbeider")
    excerpt, _ = services.excerpt_code(
        transcript=transcript, start=start, end=start + 14, codes=codes[:1], coder=users["bob"]
    )
    # The owner codes the same passage: resizing moves the requester's own codings, so each
    # writer has some to move.
    services.excerpt_code(
        transcript=transcript, start=start, end=start + 14, codes=codes[1:2], coder=users["alice"]
    )
    memo = services.memo_save(
        project=project, author=users["bob"], text="Et notat", excerpt=excerpt
    )
    definition = AttributeDefinition.objects.create(
        project=project, target="case", name="Innbyggere", kind="integer"
    )
    batch = uuid.uuid4()
    services.excerpt_code(
        transcript=transcript,
        start=start + 15,
        end=start + 20,
        codes=codes[1:2],
        coder=users["bob"],
        source=CodingSource.SEARCH,
        batch=batch,
    )
    codes[2].keywords = "tilgang"  # a keyword to remove from a suggestion's card
    codes[2].save(update_fields=["keywords"])
    suggestion = Suggestion.objects.create(
        transcript=transcript,
        code=codes[2],
        start=start,
        end=start + 14,
        source=Suggestion._meta.get_field("source").choices[0][0],
        score=0.9,
    )
    draft = services.import_prepare(
        project=project, case=case, user=users["bob"], pasted="I: Hei.\nIP: Hallo."
    )
    export = Job(
        project=project,
        kind=JobKind.EXPORT,
        status=JobStatus.DONE,
        created_by=users["bob"],
        params={"layout": "by-code", "language": "nb"},
    )
    export.result_name = "utdrag.docx"
    export.result_file.save("utdrag.docx", ContentFile(b"PK\x03\x04 not really"), save=True)
    return World(
        project=project,
        alice=users["alice"],
        bob=users["bob"],
        sue=users["sue"],
        charlie=charlie,
        case=case,
        informant=informant,
        transcript=transcript,
        codes=codes,
        excerpt=excerpt,
        coding=Coding.objects.get(content_object=excerpt, coder=users["bob"]),
        memo=memo,
        definition=definition,
        draft_import=draft,
        export_job=export,
        bob_membership=Membership.objects.get(project=project, user=users["bob"]),
        extra={
            "assignment": Assignment.objects.create(
                transcript=transcript, coder=users["bob"], assigned_by=users["alice"]
            ),
            "batch": batch,
            "suggestion": suggestion,
            "exchange_draft": services.exchange_import_prepare(
                project=project,
                user=users["alice"],
                upload=ContentFile(EXCHANGE_QDC, name="kodebok.qdc"),
            )[0],
        },
    )


# URL keyword argument -> its value in the world (an entry's ``kwargs`` overrides these).
DEFAULT_KWARGS: dict[str, Callable[[World], object]] = {
    "project_id": lambda w: w.project.pk,
    "case_id": lambda w: w.case.pk,
    "informant_id": lambda w: w.informant.pk,
    "transcript_id": lambda w: w.transcript.pk,
    "excerpt_id": lambda w: w.excerpt.pk,
    "coding_id": lambda w: w.coding.pk,
    "code_id": lambda w: w.codes[0].pk,
    "memo_id": lambda w: w.memo.pk,
    "definition_id": lambda w: w.definition.pk,
    "membership_id": lambda w: w.bob_membership.pk,
    "job_id": lambda w: w.export_job.pk,
}


@dataclass(frozen=True)
class Entry:
    methods: dict[str, str]  # HTTP method -> PUBLIC | AUTH | READ | WRITE | OWN
    kwargs: Callable[[World], dict] | None = None
    data: Callable[[World], dict] | None = None  # body of the POST
    query: Callable[[World], dict] | None = None  # query string of the GET


def R(**kw) -> Entry:
    return Entry({"GET": READ}, **kw)


def W(**kw) -> Entry:
    return Entry({"POST": WRITE}, **kw)


def span(w: World) -> dict:
    return {"start": 0, "end": 5, "code": [w.codes[1].pk]}


def _consensus_post(w: World, **extra) -> dict:
    start = w.transcript.text.index("Vi samarbeider")
    return {
        "code": w.codes[1].pk,
        "coders": [w.bob.pk, w.alice.pk],
        "start": start,
        "end": start + 14,
        **extra,
    }


ACCESS: dict[str, Entry] = {
    # Accounts and site-wide pages.
    "login": Entry({"GET": PUBLIC}),
    "logout": Entry({"POST": PUBLIC}),
    "password_change": Entry({"GET": AUTH}),
    "password_change_done": Entry({"GET": AUTH}),
    "password_reset_confirm": Entry(
        {"GET": PUBLIC}, kwargs=lambda w: {"uidb64": "MQ", "token": "set-password"}
    ),
    "password_reset_complete": Entry({"GET": PUBLIC}),
    "healthz": Entry({"GET": PUBLIC}),
    "set_language": Entry({"POST": PUBLIC}, data=lambda w: {"language": "en", "next": "/"}),
    "coding:project-list": Entry({"GET": AUTH}),
    # Project, cases and informants.
    "coding:project-detail": R(),
    "coding:memo-list": R(query=lambda w: {"q": "notat"}),
    "coding:memo-types": Entry(
        {"GET": READ, "POST": OWN}, data=lambda w: {"names": "Teoretisk\nMetodisk"}
    ),
    "coding:memo-type-set": W(data=lambda w: {"type": ""}),
    "coding:memo-link": W(data=lambda w: {"case": w.case.pk}),
    "coding:memo-edit": Entry({"GET": WRITE}, query=lambda w: {"q": "notat"}),
    # Supervisors read everything, so they export the memos too.
    "coding:memo-export": Entry({"POST": READ}, data=lambda w: {"layout": "memos-by-case"}),
    # Memos on the project, a case, a code, a transcript (issue 17): a GET is the form (one's
    # own memo's with ?memo=), a POST writes; supervisors write no memos.
    "coding:project-memo-add": Entry(
        {"GET": WRITE, "POST": WRITE}, data=lambda w: {"text": "Prosjektnotat"}
    ),
    "coding:case-memo": Entry({"GET": WRITE, "POST": WRITE}, data=lambda w: {"text": "Casenotat"}),
    "coding:code-memo": Entry({"GET": WRITE, "POST": WRITE}, data=lambda w: {"text": "Kodenotat"}),
    "coding:transcript-memo": Entry(
        {"GET": WRITE, "POST": WRITE}, data=lambda w: {"text": "Intervjunotat"}
    ),
    "coding:case-detail": R(),
    "coding:case-create": Entry({"GET": OWN, "POST": OWN}),
    "coding:case-edit": Entry({"GET": OWN, "POST": OWN}),
    "coding:informant-create": Entry({"GET": WRITE, "POST": WRITE}),
    "coding:informant-edit": Entry({"GET": WRITE, "POST": WRITE}),
    "coding:attribute-list": Entry({"GET": READ, "POST": OWN}),
    "coding:attribute-delete": Entry({"POST": OWN}),
    # Import and jobs.
    "coding:import-upload": Entry(
        {"GET": WRITE, "POST": WRITE}, data=lambda w: {"case": w.case.pk, "pasted": "I: Hei."}
    ),
    "coding:import-preview": Entry(
        {"GET": WRITE, "POST": WRITE}, kwargs=lambda w: {"job_id": w.draft_import.pk}
    ),
    "coding:job-detail": R(),
    # REFI-QDA exchange: every member may export; only owners import.
    "coding:exchange-export": R(),
    "coding:exchange-codebook-export": R(),
    "coding:exchange-import": Entry({"GET": OWN, "POST": OWN}),
    "coding:exchange-preview": Entry(
        {"GET": OWN, "POST": OWN}, kwargs=lambda w: {"job_id": w.extra["exchange_draft"].pk}
    ),
    "coding:exchange-speakers": Entry(
        {"GET": OWN, "POST": OWN}, kwargs=lambda w: {"job_id": w.extra["exchange_draft"].pk}
    ),
    "coding:job-download": R(),
    # Codebook.
    "coding:codebook": R(),
    "coding:codebook-add": W(data=lambda w: {"name": "Ny kode", "color": "#123456"}),
    "coding:codebook-edit": Entry(
        {"GET": READ, "POST": WRITE}, data=lambda w: {"name": "Forankring 2", "color": "#123456"}
    ),
    "coding:codebook-move": W(data=lambda w: {"direction": "down"}),
    "coding:codebook-merge": Entry(
        {"GET": WRITE, "POST": WRITE}, data=lambda w: {"target": w.codes[1].pk}
    ),
    "coding:codebook-delete": Entry({"GET": WRITE, "POST": WRITE}),
    "coding:codebook-keywords-accept": Entry({"POST": OWN}, data=lambda w: {"keyword": "bolig"}),
    # The coding workspace.
    "coding:transcript-detail": R(),
    "coding:workspace-codings": R(),
    "coding:workspace-code": W(data=span),
    "coding:workspace-in-vivo": W(data=lambda w: {"start": 0, "end": 5}),
    "coding:workspace-in-vivo-name": R(query=lambda w: {"start": 0, "end": 5}),
    "coding:workspace-undo": W(),
    "coding:workspace-excerpt": R(),
    "coding:workspace-resize": W(
        data=lambda w: {"start": w.excerpt.start, "end": w.excerpt.end + 1}
    ),
    "coding:workspace-memo": W(data=lambda w: {"text": "Nytt notat"}),
    "coding:workspace-uncode": W(),
    "coding:excerpt-key-quotes": Entry(
        {"GET": READ, "POST": WRITE}, data=lambda w: {"code": w.codes[0].pk, "marked": "1"}
    ),
    # Word export: a read (supervisors export too), served through job-download.
    "coding:export": Entry({"GET": READ, "POST": READ}),
    "coding:export-count": R(),
    # Cross-case analysis (supervisors read everything; framework summaries are writes).
    "coding:analysis-matrix": R(),
    "coding:analysis-matrix-cell": R(query=lambda w: {"row": w.case.pk, "col": w.codes[0].pk}),
    "coding:analysis-matrix-export": R(kwargs=lambda w: {"fmt": "csv"}),
    "coding:analysis-cooccurrence": R(),
    "coding:analysis-cooccurrence-cell": R(
        query=lambda w: {"row": w.codes[0].pk, "col": w.codes[0].pk}
    ),
    "coding:analysis-cooccurrence-export": R(kwargs=lambda w: {"fmt": "xlsx"}),
    "coding:analysis-framework": R(),
    "coding:analysis-framework-export": R(kwargs=lambda w: {"fmt": "csv"}),
    "coding:analysis-framework-cell": Entry(
        {"GET": READ, "POST": WRITE}, data=lambda w: {"text": "Sterk forankring.", "version": 0}
    ),
    "coding:analysis-framework-save": W(
        data=lambda w: {"case": w.case.pk, "code": w.codes[0].pk, "text": "Tekst", "version": 0}
    ),
    "coding:analysis-framework-panel": R(
        query=lambda w: {"case": w.case.pk, "code": w.codes[0].pk}
    ),
    "coding:dashboard": R(),
    # Intercoder agreement (bob and alice both coded the transcript).
    "coding:analysis-agreement": R(),
    "coding:analysis-agreement-export": R(kwargs=lambda w: {"fmt": "docx"}),
    "coding:analysis-agreement-compare": R(
        query=lambda w: {"code": w.codes[1].pk, "coders": [w.bob.pk, w.alice.pk]}
    ),
    # Consensus (writers settle; alice alone coded Kompetanse on "Vi samarbeider tett").
    "coding:analysis-consensus-decide": W(data=lambda w: _consensus_post(w, choice="merge")),
    "coding:analysis-consensus-start": W(data=lambda w: _consensus_post(w, coder=w.bob.pk)),
    "coding:analysis-consensus-undo": W(data=lambda w: _consensus_post(w)),
    # Lemma search, coding from search, and suggestions.
    "coding:search": R(query=lambda w: {"q": "samarbeide"}),
    "coding:search-code-preview": W(
        data=lambda w: {"q": "samarbeide", "code": w.codes[2].pk, "extent": "sentence"}
    ),
    "coding:search-code-apply": W(
        data=lambda w: {"q": "samarbeide", "code": w.codes[2].pk, "extent": "sentence"}
    ),
    "coding:search-batch": R(kwargs=lambda w: {"batch": w.extra["batch"]}),
    "coding:search-batch-undo": W(kwargs=lambda w: {"batch": w.extra["batch"]}),
    "coding:search-reindex": W(),
    "coding:suggestions": R(),
    "coding:suggestions-train": W(),
    "coding:suggestions-refresh": W(),
    "coding:transcript-suggestions": R(),
    "coding:transcript-suggestions-review": R(),
    "coding:suggestion-accept": W(kwargs=lambda w: {"suggestion_id": w.extra["suggestion"].pk}),
    "coding:suggestion-reject": W(kwargs=lambda w: {"suggestion_id": w.extra["suggestion"].pk}),
    "coding:suggestion-keyword-remove": W(
        kwargs=lambda w: {"suggestion_id": w.extra["suggestion"].pk},
        data=lambda w: {"keyword": "tilgang"},
    ),
    # Members and history.
    "coding:member-list": R(),
    "coding:member-add": Entry(
        {"POST": OWN}, data=lambda w: {"username": "charlie", "role": Role.SUPERVISOR}
    ),
    "coding:member-role": Entry({"POST": OWN}, data=lambda w: {"role": Role.SUPERVISOR}),
    "coding:member-remove": Entry({"GET": OWN, "POST": OWN}),
    "coding:project-history": R(),
    "coding:transcript-history": R(),
    # Blind coding and assignments (issue 13): owners set them; the assigned coder (or an
    # owner) marks an assignment done.
    "coding:project-blind": Entry({"POST": OWN}, data=lambda w: {"blind_coding": "1"}),
    "coding:transcript-blind": Entry({"POST": OWN}, data=lambda w: {"blind_mode": "on"}),
    "coding:assignments-add": Entry(
        {"POST": OWN},
        data=lambda w: {"transcripts": [w.transcript.pk], "coders": [w.bob.pk, w.alice.pk]},
    ),
    "coding:assignment-remove": Entry(
        {"POST": OWN}, kwargs=lambda w: {"assignment_id": w.extra["assignment"].pk}
    ),
    "coding:assignment-done": W(
        kwargs=lambda w: {"assignment_id": w.extra["assignment"].pk}, data=lambda w: {"done": "1"}
    ),
}


def _patterns(patterns, prefix: str = "", namespace: str | None = None):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = p.namespace and (f"{namespace}:{p.namespace}" if namespace else p.namespace)
            yield from _patterns(p.url_patterns, prefix + str(p.pattern), ns or namespace)
        elif isinstance(p, URLPattern):
            name = p.name and (f"{namespace}:{p.name}" if namespace else p.name)
            yield prefix + str(p.pattern), name


def project_urls() -> list[tuple[str, str | None]]:
    """(route, name) of every URL pattern, the admin site's excepted (see test_admin_...)."""
    return [
        (route, name)
        for route, name in _patterns(get_resolver().url_patterns)
        if not route.startswith("admin/")
    ]


def test_every_url_has_an_access_entry():
    routes = project_urls()
    unnamed = [route for route, name in routes if not name]
    assert unnamed == [], "give every URL a name so the access matrix can cover it"
    names = {name for _route, name in routes}
    missing = sorted(names - ACCESS.keys())
    assert missing == [], f"add these URLs to ACCESS in {__file__}: {missing}"
    stale = sorted(ACCESS.keys() - names)
    assert stale == [], f"these ACCESS entries name no URL any more: {stale}"


def _client(world: World, persona: str) -> Client:
    client = Client()
    if persona != "anonymous":
        client.force_login(getattr(world, persona))
    return client


def _url(world: World, name: str, entry: Entry) -> str:
    route = {n: r for r, n in project_urls()}[name]
    kwargs = {}
    for key in DEFAULT_KWARGS:
        if f"<{key}>" in route or f":{key}>" in route:
            kwargs[key] = DEFAULT_KWARGS[key](world)
    if entry.kwargs:
        kwargs.update(entry.kwargs(world))
    return reverse(name, kwargs=kwargs)


def _request(client: Client, method: str, url: str, world: World, entry: Entry):
    if method == "GET":
        return client.get(url, entry.query(world) if entry.query else {})
    return client.post(url, entry.data(world) if entry.data else {})


def database_state() -> list:
    """Every row of the app's tables and the accounts (small in this world): a refused request
    must leave all of it exactly as it was."""
    from django.apps import apps
    from django.contrib.auth import get_user_model

    models = [*apps.get_app_config("coding").get_models(), get_user_model()]
    return [
        (m._meta.label, list(m.objects.order_by("pk").values_list()))
        for m in models
        if not m._meta.abstract
    ]


def expected(need: str, persona: str) -> str:
    """'login', 404, 403 or 'ok' for a persona asking for something that needs ``need``."""
    if need == PUBLIC:
        return "ok"
    if persona == "anonymous":
        return "login"
    if need == AUTH:
        return "ok"
    if persona == "charlie":
        return "404"
    return "ok" if PERSONA_RANK[persona] >= ROLE_RANK[need] else "403"


CASES = [
    pytest.param(name, method, persona, id=f"{name}-{method}-{persona}")
    for name, entry in ACCESS.items()
    for method in entry.methods
    for persona in PERSONAS
]


@pytest.mark.parametrize(("name", "method", "persona"), CASES)
def test_access(world, name, method, persona):
    if name not in {n for _r, n in project_urls()}:
        pytest.fail(f"{name} is in ACCESS but not a URL any more")
    entry = ACCESS[name]
    url = _url(world, name, entry)
    client = _client(world, persona)
    want = expected(entry.methods[method], persona)
    before = database_state() if want != "ok" else None
    r = _request(client, method, url, world, entry)
    where = f"{method} {url} as {persona}"
    if before is not None:
        assert database_state() == before, f"{where}: refused ({r.status_code}) but wrote"
    if want == "login":
        assert r.status_code == 302, f"{where}: {r.status_code}, not a redirect to log in"
        assert r.url.startswith(reverse("login")), f"{where}: redirected to {r.url}"
    elif want == "404":
        assert r.status_code == 404, f"{where}: {r.status_code}; an outsider must get 404"
    elif want == "403":
        assert r.status_code == 403, f"{where}: {r.status_code}; this role may not do this"
    else:
        assert r.status_code < 500, f"{where}: server error {r.status_code}"
        # The allowed request must reach the success path: a 400 (a form or offset refused) would
        # mean the access check was never the thing tested.
        assert r.status_code < 400, f"{where}: refused ({r.status_code}): {r.content[:300]!r}"
        if r.status_code == 302 and entry.methods[method] != PUBLIC:
            assert not r.url.startswith(reverse("login")), f"{where}: sent to log in"


# Django's own views that answer any method (form views, set_language's redirect).
DJANGO_ANY_METHOD = {"password_reset_confirm", "password_change", "login", "set_language"}


def test_methods_a_url_does_not_list_are_refused(world):
    """A GET-only page refuses POST (and the reverse), so the table lists every way in."""
    client = _client(world, "alice")
    for name, entry in ACCESS.items():
        url = _url(world, name, entry)
        for method in {"GET", "POST"} - entry.methods.keys():
            if name in DJANGO_ANY_METHOD:
                continue
            r = client.get(url) if method == "GET" else client.post(url)
            assert r.status_code == 405, f"{method} {url}: {r.status_code}, expected 405"


@pytest.mark.parametrize("persona", PERSONAS)
def test_nobody_here_reaches_the_admin_site(world, persona):
    client = _client(world, persona)
    for url in (
        "/admin/",
        "/admin/coding/transcript/",
        f"/admin/coding/transcript/{world.transcript.pk}/change/",
    ):
        r = client.get(url)
        assert r.status_code == 302, f"{url} as {persona}: {r.status_code}"
        assert r.url.startswith("/admin/login/"), f"{url} as {persona}: {r.url}"


# --- every page a role may use is reachable by clicking -----------------------------------------

# GET URLs that are not pages a person opens by a link, and why.
NOT_LINKED = {
    "login": "where logging out and every page for anonymous visitors lead",
    "password_reset_confirm": "reached from the e-mailed or owner-given link",
    "password_reset_complete": "where setting a password leads",
    "password_change_done": "where changing the password leads",
    "healthz": "for the load balancer",
    "coding:import-preview": "where an upload leads",
    "coding:exchange-preview": "where a .qdpx or .qdc upload leads",
    "coding:exchange-speakers": "reached by a button of the REFI-QDA preview's form",
    "coding:job-detail": "where an import or export leads",
    "coding:job-download": "linked from the job page once the job is done",
    "coding:search-batch": "where coding from search leads",
    "coding:workspace-codings": "JSON for the transcript view's script",
    "coding:workspace-excerpt": "JSON for the transcript view's script",
    "coding:workspace-in-vivo-name": "JSON for the transcript view's script (the picker)",
    "coding:transcript-suggestions": "JSON for the transcript view's script",
    "coding:export-count": "htmx fragment of the export form",
    "coding:analysis-matrix-cell": "htmx fragment (a matrix cell's link)",
    "coding:analysis-cooccurrence-cell": "htmx fragment (a cell's link)",
    "coding:analysis-framework-cell": "htmx fragment (a framework cell's link)",
    "coding:analysis-framework-panel": "htmx fragment (the framework grid's side panel)",
    "coding:excerpt-key-quotes": "htmx fragment (the key-quote stars of a passage)",
    "coding:case-memo": "the case page holds the new memo's form; the GET is one's own case "
    "memo's edit form (its Edit link) or the form's page",
}


# A page that is not one for a particular role.
NOT_LINKED_FOR = {
    ("coding:codebook-edit", "sue"): "sends supervisors to the codebook, which shows every field",
}


def _crawl(client: Client, start: str) -> set[str]:
    """URL names of every page reachable by following links (a href) from ``start``."""
    import lxml.html
    from django.urls import Resolver404, resolve

    seen_paths: set[str] = set()
    names: set[str] = set()
    queue = [start]
    while queue:
        url = queue.pop()
        path = url.split("#")[0].split("?")[0]
        if path in seen_paths or not path.startswith("/") or path.startswith("/static/"):
            continue
        seen_paths.add(path)
        try:
            match = resolve(path)
        except Resolver404:
            continue
        names.add(match.view_name)
        r = client.get(url.split("#")[0])
        if r.status_code != 200 or "text/html" not in r.get("Content-Type", ""):
            continue
        doc = lxml.html.fromstring(r.content.decode() or "<p></p>")
        queue.extend(doc.xpath("//a/@href"))
    return names


@pytest.mark.parametrize("persona", ["sue", "bob", "alice"])
def test_every_page_a_role_may_use_is_linked_from_the_project_home(world, persona):
    """Owners could not reach case editing, new cases or the attribute definitions but by typing
    a URL: each GET page a role may open must be a click away from pages it can see."""
    may_open = {
        name
        for name, entry in ACCESS.items()
        if "GET" in entry.methods
        and entry.methods["GET"] != PUBLIC
        and expected(entry.methods["GET"], persona) == "ok"
    } - NOT_LINKED.keys()
    may_open -= {name for name, who in NOT_LINKED_FOR if who == persona}
    reached = _crawl(_client(world, persona), reverse("coding:project-list"))
    missing = sorted(may_open - reached)
    assert missing == [], f"{persona} cannot click their way to {missing}"
